package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/test/stack"
)

// tightBytes bounds every collector queue to a few events' bytes (8x8
// events hold 2 to 9 KB each once decoded and stored), so the SAPI reader
// waits for the dispatchers most of the time.
func tightBytes(c *config.Config) {
	c.Collector.Scheduler.MaxBufferedBytes = 48 << 10
	c.Collector.Scheduler.MaxInFlightBytes = 16 << 10
	c.Collector.PendingMaxBytes = 16 << 10
	c.Dispatcher.Regal.RateLimit = 0
}

// peakBuffered polls the bytes the collector's scheduler holds until stop
// is closed and returns the most it saw.
func peakBuffered(s *stack.Stack, stop <-chan struct{}) (peak int64) {
	for {
		peak = max(peak, s.Collector.Scheduler().Stats().BufferedBytes)
		select {
		case <-stop:
			return peak
		case <-time.After(time.Millisecond):
		}
	}
}

// TestBurstUnderTightByteBoundsWaitsAndLosesNothing: a burst far larger
// than every byte bound goes through with the reader waiting, nothing
// dropped, each interaction in order, and the scheduler's buffer never
// above its bound by more than one event.
func TestBurstUnderTightByteBoundsWaitsAndLosesNothing(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2, Mutate: tightBytes})
	if err := s.Regal.SetLatency(2 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	calls := scenario.Mix(23, tenant, 50, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
	events := scenario.Interleave(calls, 10)
	want := expect(t, events)
	largest := 0
	for _, e := range events {
		largest = max(largest, len(e))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak int64
	wg.Go(func() { peak = peakBuffered(s, stop) })
	if err := s.SAPI.Publish(tenant, events...); err != nil {
		t.Fatal(err)
	}
	got := waitRegal(t, s, len(want))
	close(stop)
	wg.Wait()
	assertOncePerInteractionInOrder(t, got, want)
	bound := s.Config.Collector.Scheduler.MaxBufferedBytes
	// One event over the bound at most: its entry is under 6 times its
	// line (decoded, raw frame, stored encoding).
	if limit := bound + int64(6*largest); peak > limit {
		t.Errorf("the scheduler held %d bytes at its peak; bound %d, at most one event (%d) over", peak, bound, limit-bound)
	}
	if peak < bound/2 {
		t.Errorf("the scheduler held at most %d bytes under a bound of %d: the burst never pressed against it", peak, bound)
	}
	t.Logf("%d events, %d to Regal; scheduler buffer peak %d bytes (bound %d)", len(events), len(want), peak, bound)

	// The gauges of the bytes held are exported, and back to 0 with
	// everything settled.
	col := scrapeUntil(t, "http://"+s.Metrics["collector"].Addr(), func(m map[string]float64) bool {
		return sum(m, "ccb_collector_backlog_bytes") == 0
	})
	gauges := []struct {
		url, name string
	}{
		{"collector", "ccb_collector_backlog_bytes"},
		{"collector", "ccb_collector_pending_bytes"},
		{"collector", "ccb_collector_in_flight_bytes"},
	}
	for _, d := range s.Dispatchers {
		gauges = append(gauges, struct{ url, name string }{d.ID(), "ccb_dispatcher_held_bytes"})
	}
	for _, g := range gauges {
		m := col
		if g.url != "collector" {
			m = scrapeUntil(t, "http://"+s.Metrics[g.url].Addr(), func(m map[string]float64) bool { return sum(m, g.name) == 0 })
		}
		if !exported(m, g.name) {
			t.Errorf("%s does not export %s", g.url, g.name)
		} else if v := sum(m, g.name); v != 0 {
			t.Errorf("%s %s = %g with everything settled, want 0", g.url, g.name, v)
		}
	}
}

// exported reports whether a scrape holds a series of the metric name.
func exported(m map[string]float64, name string) bool {
	for series := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			return true
		}
	}
	return false
}

// TestRecoveryOfMoreThanTheBufferHoldsDeliversEverythingInOrder: a
// collector restarted with more unsettled events in Redis than its byte
// bound schedules them all (recovery waits for space like the reader),
// in order, before the SAPI stream's new events.
func TestRecoveryOfMoreThanTheBufferHoldsDeliversEverythingInOrder(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2, Mutate: func(c *config.Config) { c.Dispatcher.Regal.RateLimit = 0 }})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stopCollector(ctx, t, s)

	// What an earlier run admitted and never settled, written by the store
	// as the collector writes it.
	calls := scenario.Mix(31, tenant, 30, time.Date(2026, 11, 5, 11, 0, 0, 0, time.UTC))
	events := scenario.Interleave(calls, 6)
	rdb := redis.NewClient(&redis.Options{Addr: s.Config.Redis.Addr})
	defer rdb.Close()
	store, err := eventstore.New(rdb, s.Config.Collector.Store)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []*eventv1.Event
	var held int64
	for _, line := range events {
		ev, err := sapi.Decode(line, tenant, s.Config.Tenants[0].SAPI.SubscriptionID, time.Now())
		if err != nil {
			continue // heartbeats
		}
		decoded = append(decoded, ev)
	}
	adm, err := store.Admit(ctx, decoded)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range adm {
		held += eventstore.EntryBytes(a.Entry)
	}

	s.Config.Collector.Scheduler.MaxBufferedBytes = held / 8
	s.Config.Collector.Scheduler.MaxInFlightBytes = held / 32
	if err := s.StartCollector(ctx); err != nil {
		t.Fatal(err)
	}
	// A later call on the stream, after recovery.
	later := scenario.InboundAnswered(scenario.NewRand(5), tenant, time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC))
	if err := s.SAPI.Publish(tenant, later.Events...); err != nil {
		t.Fatal(err)
	}
	want := append(expect(t, events), expect(t, later.Events)...)
	got := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)
	if n := s.Collector.Stats().Recovered; n != int64(len(decoded)) {
		t.Errorf("recovered %d events, want the %d left in Redis", n, len(decoded))
	}
	t.Logf("%d events (%d bytes held) recovered through a buffer of %d bytes", len(decoded), held, held/8)
}
