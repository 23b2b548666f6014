package regal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/internal/openapitest"
)

// regalSpec is Regal's published OpenAPI for POST /events, kept in the
// repository; the Regal double's tests read the same file, so client and
// double are each held to Regal's contract and not to each other.
const regalSpec = "../../testdata/regal/regal-events-openapi.yml"

// specOptions: "properties" is Regal's "arbitrary object of properties",
// whose listed members are only examples; the client sends a subset of
// the documented fields.
var specOptions = openapitest.Options{FreeForm: []string{"properties"}, Subset: true}

func TestEvent_type_matches_the_spec(t *testing.T) {
	body := openapitest.Load(t, regalSpec).RequestBody(t, "post", "/events")
	for _, p := range openapitest.CheckType(reflect.TypeFor[regal.Event](), body, specOptions) {
		t.Error(p)
	}
}

func TestClient_sends_what_the_spec_describes(t *testing.T) {
	body := openapitest.Load(t, regalSpec).RequestBody(t, "post", "/events")
	primary := true
	tests := []struct {
		name string
		ev   *regal.Event
	}{
		{name: "as_the_bridge_sends_events", ev: sampleEvent()},
		{name: "every_field_the_client_has", ev: &regal.Event{
			UserID: "u-1",
			Traits: &regal.Traits{Phones: map[string]regal.PhoneTrait{
				"+15515557212": {Label: "Mobile", IsPrimary: &primary},
				"+15515550100": {},
			}},
			Name:              "Interaction Assigned",
			Properties:        map[string]any{"queue_id": int64(1092), "ratio": 0.5, "queue_name": "Sales", "nested": map[string]any{"a": []any{1, "b"}}},
			EventSource:       "8x8",
			OriginalTimestamp: "2024-08-26 15:18:03 +00:00",
		}},
		{name: "name_only", ev: &regal.Event{Name: "Interaction Deleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []*http.Request
				raw [][]byte
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got, raw = append(got, r), append(raw, b)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"message":"ok"}`)
			}))
			t.Cleanup(srv.Close)

			res := newClient(t, fastConfig(srv.URL)).Send(context.Background(), testKey, tt.ev)
			if res.Err != nil || !res.Acknowledged {
				t.Fatalf("Send = %+v, want acknowledged", res)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if r.Method != http.MethodPost || r.URL.Path != "/events" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %s %s (Content-Type %q), want POST /events with application/json",
					r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			}
			if r.Header.Get("Authorization") != testKey.Reveal() {
				t.Error("Authorization is not the raw API key")
			}
			for _, p := range openapitest.CheckDocument(openapitest.Decode(t, raw[0]), body, specOptions) {
				t.Errorf("body %s: %s", raw[0], p)
			}
		})
	}
}
