package e2e

import (
	"context"
	"testing"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/test/stack"
)

// TestOnARedisClusterWithAFailoverEventsReachRegalExactlyOnceInOrder runs
// the bridge on a Redis Cluster (3 primaries, 3 replicas) and fails over
// the primaries of the tenant's lease and of two of its partitions while
// events flow: a manual failover loses nothing acknowledged, so every
// scripted flow still reaches Regal exactly once, in order.
func TestOnARedisClusterWithAFailoverEventsReachRegalExactlyOnceInOrder(t *testing.T) {
	cluster := redistest.SharedCluster(t)
	const prefix = "e2e-cluster"
	s := startStackOn(t, stack.Options{Dispatchers: 2, KeyPrefix: prefix, RedisCluster: cluster.Addrs,
		Mutate: func(c *config.Config) {
			// The timeline's own Redis, a cluster too (here the same one).
			c.Collector.Query.Redis = config.Redis{Cluster: true, Addrs: cluster.Addrs}
		}})
	events := scenario.Interleave(scriptedFlows(), 7)
	want := expect(t, events)
	stream, repeats := withRepeats(events)
	half := len(stream) / 2
	if err := s.SAPI.Publish(tenant, stream[:half]...); err != nil {
		t.Fatal(err)
	}
	// While the first half is admitted, scheduled and settled.
	for _, key := range []string{prefix + ":{" + tenant + "}:lease", prefix + ":{" + tenant + ":0}:events", prefix + ":{" + tenant + ":1}:events"} {
		cluster.FailoverKey(t, key)
	}
	if err := s.SAPI.Publish(tenant, stream[half:]...); err != nil {
		t.Fatal(err)
	}
	got := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)
	// At least the repeated lines are dropped as duplicates; an admission
	// whose reply a switch cut off is sent again and finds its own events
	// (still pending, so they are delivered all the same: Regal has each
	// once, above).
	if st := s.Collector.Stats(); st.Duplicates < int64(repeats) {
		t.Errorf("collector dropped %d duplicates, want at least the %d repeated lines", st.Duplicates, repeats)
	}
	// The timeline is written behind delivery; a write caught in a
	// switch may fail (it is counted), the others reach the cluster.
	scrapeUntil(t, "http://"+s.Metrics["collector"].Addr(), func(m map[string]float64) bool {
		return sum(m, "ccb_collector_timeline_queued_bytes") == 0 &&
			sum(m, "ccb_collector_timeline_changes_total", `result="recorded"`) > 0
	})
	keys, err := redistest.Keys(context.Background(), cluster.Client(t), prefix+":tl:*")
	if err != nil || len(keys) == 0 {
		t.Fatalf("timeline keys on the cluster: %d (%v), want some", len(keys), err)
	}
}
