package timeline_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestRecorderMeterReportsItsCounters: with a meter, the recorder's
// changes are reported by result and its queued bytes as a gauge.
func TestRecorderMeterReportsItsCounters(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	s := newStore(t, redistest.Start(t, redistest.Options{}).Client(t), "metrics")
	r := newRecorder(t, s, timeline.RecorderOptions{Meter: provider.Meter("test")})
	entry := eventstore.Entry{Ref: eventstore.Ref{Tenant: tenant, ID: "1-0"}, Event: alice.event("k-1", "InteractionCreated", 0)}
	r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: entry}})
	closeRecorder(t, r)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	changes := map[string]int64{}
	queued := int64(-1)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == "ccb.collector.timeline.changes" {
					for _, p := range d.DataPoints {
						res, _ := p.Attributes.Value("result")
						changes[res.AsString()] = p.Value
					}
				}
			case metricdata.Gauge[int64]:
				if m.Name == "ccb.collector.timeline.queued_bytes" && len(d.DataPoints) == 1 {
					queued = d.DataPoints[0].Value
				}
			}
		}
	}
	if changes["recorded"] != 1 || changes["dropped"] != 0 || changes["failed"] != 0 || len(changes) != 3 {
		t.Errorf("changes %v, want recorded 1, dropped 0, failed 0", changes)
	}
	if queued != 0 {
		t.Errorf("queued bytes %d after Close, want 0", queued)
	}
}
