package translate_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ccbridge/bridge/dispatcher/translate"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

func TestTranslate_counts_phone_verdicts_by_tenant(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	tr, err := translate.New(translate.DefaultMapping(), translate.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	seed := seedEvents()["Interaction Deassigned"]
	inTenant := func(ev *eventv1.Event, tenant string) *eventv1.Event {
		ev.Tenant = tenant
		return ev
	}
	unmapped := withPhone(seed, "5515557212")
	unmapped.EventType = "InteractionEndPostProcess"
	events := []*eventv1.Event{
		inTenant(withPhone(seed, "5515557212"), "acme"),
		inTenant(withPhone(seed, "+15515557212"), "acme"),
		inTenant(withPhone(seed, "+1 473 555 8383"), "acme"),
		inTenant(withPhone(seed, "+44 1632 960000"), "globex"),
		inTenant(withPhone(seed, ""), "acme"),
		inTenant(withPhone(seed, "5557212"), "globex"),
		inTenant(withPhone(seed, "anonymous"), "globex"),
		inTenant(unmapped, "acme"), // not counted: no phone is read
	}
	for _, ev := range events {
		_, _ = tr.Translate(ev)
	}
	want := map[[2]string]int64{
		{"acme", "valid"}:           2,
		{"acme", "unverified"}:      1,
		{"globex", "unverified"}:    1,
		{"acme", "no_phone"}:        1,
		{"globex", "invalid_phone"}: 2,
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ccb.dispatcher.phones" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				tenant, _ := p.Attributes.Value(attribute.Key("tenant"))
				verdict, _ := p.Attributes.Value(attribute.Key("verdict"))
				got[[2]string{tenant.AsString(), verdict.AsString()}] += p.Value
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("counted %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("ccb.dispatcher.phones{tenant=%q, verdict=%q} = %d, want %d", k[0], k[1], got[k], n)
		}
	}
}
