package translate_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestTranslate_seed_events_reach_regal_double_unchanged(t *testing.T) {
	const key = secret.Secret("rk_test_delivery")
	double := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{key}}, nil)
	if err := double.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = double.Shutdown(context.Background()) })
	client := regal.NewClient(regal.Config{BaseURL: double.URL(), Timeout: 10 * time.Second}, nil)
	t.Cleanup(client.CloseIdleConnections)

	tr := newTranslator(t, translate.DefaultMapping())
	want := seedProperties(t)
	for name, disposition := range dispositionNames {
		want[name].(map[string]any)["disposition"] = disposition
	}
	for name, ev := range seedEvents() {
		out, err := tr.Translate(ev)
		if err != nil {
			t.Fatalf("%s: Translate: %v", name, err)
		}
		if res := client.Send(context.Background(), key, out); res.Err != nil || !res.Acknowledged {
			t.Fatalf("%s: Send = %+v", name, res)
		}
	}

	received := double.Received()
	if len(received) != len(want) {
		t.Fatalf("double received %d events, want %d", len(received), len(want))
	}
	for _, r := range received {
		body := decodeJSON(t, r.Body).(map[string]any)
		if !reflect.DeepEqual(body["properties"], want[r.Event.Name]) {
			t.Errorf("%s: properties\n got %v\nwant %v", r.Event.Name, body["properties"], want[r.Event.Name])
		}
	}
}
