package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/test/stack"
)

// TestTimelineKeptInItsOwnRedis configures collector.query.redis: every
// event still reaches Regal, the timeline is written to that Redis only,
// and the Redis of the events holds none of it.
func TestTimelineKeptInItsOwnRedis(t *testing.T) {
	timelineRedis := redistest.Start(t, redistest.Options{AppendOnly: true})
	s := startStack(t, stack.Options{Dispatchers: 2, Mutate: func(c *config.Config) {
		c.Collector.Query.Redis = config.Redis{Addr: timelineRedis.Addr}
	}})
	events := scenario.Interleave(scriptedFlows(), 11)
	want := expect(t, events)
	if err := s.SAPI.Publish(tenant, events...); err != nil {
		t.Fatal(err)
	}
	waitRegal(t, s, len(want))

	// The timeline writes behind delivery: wait until its queue drained.
	recorded := func(m map[string]float64) float64 {
		return sum(m, "ccb_collector_timeline_changes_total", `result="recorded"`)
	}
	col := scrapeUntil(t, "http://"+s.Metrics["collector"].Addr(), func(m map[string]float64) bool {
		return sum(m, "ccb_collector_timeline_queued_bytes") == 0 && recorded(m) > 0
	})
	if recorded(col) == 0 {
		t.Fatal("the timeline recorded nothing")
	}
	if n := sum(col, "ccb_collector_timeline_changes_total", `result="dropped"`) + sum(col, "ccb_collector_timeline_changes_total", `result="failed"`); n != 0 {
		t.Errorf("%v timeline changes dropped or failed", n)
	}

	tests := []struct {
		name     string
		addr     string
		wantKeys bool
	}{
		{name: "timeline_redis_holds_the_timeline", addr: timelineRedis.Addr, wantKeys: true},
		{name: "events_redis_holds_none_of_it", addr: s.Config.Redis.Addr, wantKeys: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := scanKeys(t, tt.addr, s.Config.Collector.Store.KeyPrefix+":tl:*")
			if (len(keys) > 0) != tt.wantKeys {
				t.Fatalf("%d timeline keys in %s, want some: %v", len(keys), tt.addr, tt.wantKeys)
			}
		})
	}
}

// scanKeys lists the keys of the Redis at addr that match pattern.
func scanKeys(t *testing.T, addr, pattern string) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var keys []string
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}
