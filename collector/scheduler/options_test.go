package scheduler

import (
	"context"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/internal/poll"
)

// TestWithOnRetry_is_told_of_acks_that_do_not_settle: a retryable failure
// and a pause reach the hook, with the dispatcher; a delivery does not.
func TestWithOnRetry_is_told_of_acks_that_do_not_settle(t *testing.T) {
	tests := []struct {
		name    string
		outcome Outcome
		told    bool
	}{
		{"retryable_failure", FailedRetryable, true},
		{"tenant_paused", Paused, true},
		{"delivered", Delivered, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var told []string
			s, err := New(testConfig(), &settleSink{}, nil, WithOnRetry(func(_ eventstore.Entry, r Result, dispatcher string) {
				mu.Lock()
				defer mu.Unlock()
				told = append(told, dispatcher)
			}))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
			sess := s.Join("d1", 10)
			if err := s.Enqueue(context.Background(), []eventstore.Entry{entry("int-1")}); err != nil {
				t.Fatal(err)
			}
			if err := s.Ack(sess, next(t, sess).ID, Result{Outcome: tt.outcome}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := len(told) == 1 && told[0] == "d1"; got != tt.told {
				t.Fatalf("hook told %q, want told once of d1: %v", told, tt.told)
			}
		})
	}
}

// TestWithMetrics_reports_settlements_and_each_tenant: the settled counter
// counts by outcome, and the pause gauge reports every tenant given, 0
// included.
func TestWithMetrics_reports_settlements_and_each_tenant(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	s, err := New(testConfig(), &settleSink{}, nil, WithMetrics(provider.Meter("test"), []string{"acme", "globex"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	sess := s.Join("d1", 10)
	if err := s.Enqueue(context.Background(), []eventstore.Entry{entry("int-1")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(sess, next(t, sess).ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the settlement counted", func() bool { return s.Stats().Settled == 1 })
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	settled := map[string]int64{}
	paused := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == "ccb.collector.deliveries.settled" {
					for _, p := range d.DataPoints {
						o, _ := p.Attributes.Value("outcome")
						settled[o.AsString()] = p.Value
					}
				}
			case metricdata.Gauge[int64]:
				if m.Name == "ccb.collector.tenant_paused" {
					for _, p := range d.DataPoints {
						tn, _ := p.Attributes.Value("tenant")
						paused[tn.AsString()] = p.Value
					}
				}
			}
		}
	}
	if len(settled) != 1 || settled["delivered"] != 1 {
		t.Errorf("settled %v, want delivered 1", settled)
	}
	if len(paused) != 2 || paused["acme"] != 0 || paused["globex"] != 0 {
		t.Errorf("tenant_paused %v, want 0 for acme and globex", paused)
	}
}
