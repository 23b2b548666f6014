package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/test/stack"
)

// TestDispatchersServeEveryCollector: two collectors, each serving a
// tenant of its own and registered in Redis; both dispatchers find them
// there and deliver the events of both, once and in order per
// interaction. When one collector stops, the other's events keep reaching
// Regal and the dispatchers stay ready.
func TestDispatchersServeEveryCollector(t *testing.T) {
	const other = "globex02"
	s := startStack(t, stack.Options{Dispatchers: 2, ExtraCollectors: []string{other}})
	start := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)
	ours := scenario.Interleave(scenario.Mix(21, tenant, 20, start), 4)
	theirs := scenario.Interleave(scenario.Mix(22, other, 20, start), 5)
	want := append(expect(t, ours), expect(t, theirs)...)
	if err := s.SAPI.Publish(tenant, ours...); err != nil {
		t.Fatal(err)
	}
	if err := s.SAPI.Publish(other, theirs...); err != nil {
		t.Fatal(err)
	}
	got := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Extra[0].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	more := scenario.Interleave(scenario.Mix(23, tenant, 10, start.Add(time.Hour)), 6)
	if err := s.SAPI.Publish(tenant, more...); err != nil {
		t.Fatal(err)
	}
	want = append(want, expect(t, more)...)
	got = waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)
	for _, d := range s.Dispatchers {
		poll.Until(t, "dispatcher "+d.ID()+" to be ready with one collector left", func() bool {
			return d.Readiness()[0].Check() == nil
		})
	}
}
