package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector"
	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/test/stack"
)

// TestTenantsMoveBetweenCollectors: collectors in rendezvous mode share
// six tenants; a collector joins and another leaves while events are
// published, so tenants move between them, and every event still reaches
// Regal once and in order per interaction.
func TestTenantsMoveBetweenCollectors(t *testing.T) {
	shared := []string{"globex02", "initech03", "umbrella04", "hooli05", "vandelay06"}
	all := append([]string{tenant}, shared...)
	s := startStack(t, stack.Options{Dispatchers: 2, SharedTenants: shared, SharedCollectors: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	running := []*collector.Collector{s.Collector, s.Shared[0]}
	// spread waits until every tenant is served by its owner among the
	// running collectors, and by no other.
	spread := func(what string) {
		t.Helper()
		poll.Until(t, what, func() bool {
			var ids []string
			for _, c := range running {
				ids = append(ids, c.BalanceID())
			}
			for _, tn := range all {
				for _, c := range running {
					if c.Serving(tn) != (balance.Assign(all, ids)[tn] == c.BalanceID()) {
						return false
					}
				}
			}
			return true
		})
	}
	start := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)
	var want []expectation
	publish := func(seed int64, at time.Time) {
		t.Helper()
		for i, tn := range all {
			evs := scenario.Interleave(scenario.Mix(seed+int64(i), tn, 6, at), 3)
			want = append(want, expect(t, evs)...)
			if err := s.SAPI.Publish(tn, evs...); err != nil {
				t.Fatal(err)
			}
		}
	}
	spread("two collectors share the tenants")
	publish(31, start)
	joined, err := s.AddSharedCollector(ctx)
	if err != nil {
		t.Fatal(err)
	}
	running = append(running, joined)
	publish(41, start.Add(time.Hour)) // while tenants move to the new collector
	spread("the third takes its share")
	assertOncePerInteractionInOrder(t, waitRegal(t, s, len(want)), want)

	if err := s.Shared[0].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	running = slices.DeleteFunc(running, func(c *collector.Collector) bool { return c == s.Shared[0] })
	publish(51, start.Add(2*time.Hour)) // while its tenants move to the others
	spread("the leaving collector's tenants go to the others")
	assertOncePerInteractionInOrder(t, waitRegal(t, s, len(want)), want)
}
