package e2e

import (
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/test/stack"
)

// TestCutsReplaysFailoverAndChunkingDeliverEachEventOnceInOrder runs calls
// through an 8x8 double that cuts the stream every 0.4 s, re-sends
// the last events on every reconnect, fails over once (new instanceId,
// sequenceId restarted), pads and splits its writes at random points, and
// sends heartbeats: Regal still gets every mapped event once, in order.
func TestCutsReplaysFailoverAndChunkingDeliverEachEventOnceInOrder(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2, SAPI: sapidouble.Config{
		SplitChunks: true, Seed: 17, Padding: true, ReplayLast: 25, HeartbeatInterval: 100 * time.Millisecond,
	}})
	calls := scenario.Mix(23, tenant, 50, time.Date(2026, 11, 5, 8, 0, 0, 0, time.UTC))
	events := scenario.Interleave(calls, 23)
	want := expect(t, events)

	cuts, failedOver := 0, false
	lastCut := time.Now()
	for i := 0; i < len(events); i += 10 {
		if err := s.SAPI.Publish(tenant, events[i:min(i+10, len(events))]...); err != nil {
			t.Fatal(err)
		}
		// A live trickle, so that cuts, replays and heartbeats fall
		// between events.
		time.Sleep(60 * time.Millisecond)
		if time.Since(lastCut) > 400*time.Millisecond {
			s.SAPI.Cut(tenant)
			cuts++
			lastCut = time.Now()
			if !failedOver && cuts == 2 {
				s.SAPI.Failover(tenant)
				failedOver = true
			}
		}
	}
	got := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)
	st := s.Collector.Stats()
	t.Logf("%d events, %d cuts, failover %v: collector received %d, dropped %d duplicates, %d heartbeats",
		len(events), cuts, failedOver, st.Received, st.Duplicates, st.Heartbeats)
	if cuts < 3 || !failedOver || st.Duplicates == 0 || st.Heartbeats == 0 {
		t.Fatalf("the run did not exercise the faults: %d cuts, failover %v, %d duplicates, %d heartbeats",
			cuts, failedOver, st.Duplicates, st.Heartbeats)
	}
}
