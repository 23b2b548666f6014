package sapidouble

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/poll"
)

// TestCollectorClient_survives_cuts_replays_and_failovers runs the
// collector's SAPI client against the double through a 60-minute-style cut
// with duplicate-on-replay and an 8x8 failover: every published event
// arrives, in order per interaction, and the duplicates share dedup keys.
func TestCollectorClient_survives_cuts_replays_and_failovers(t *testing.T) {
	s := startDouble(t, func(c *Config) {
		c.HeartbeatInterval, c.Padding, c.SplitChunks, c.Seed, c.ReplayLast = 30*time.Millisecond, true, true, 3, 3
	})
	var mu sync.Mutex
	var received []string // dedup keys in arrival order
	order := map[string][]string{}
	handle := func(_ context.Context, f sapi.Frame) error {
		ev, err := sapi.Decode(f.Bytes, tenant, "regal", f.ReceivedAt)
		if errors.Is(err, sapi.ErrHeartbeat) {
			return nil
		}
		if err != nil {
			t.Errorf("decode: %v", err)
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		received = append(received, ev.DedupKey)
		order[ev.OrderKey] = append(order[ev.OrderKey], ev.DedupKey)
		return nil
	}
	client := sapi.NewClient(sapi.Config{
		BaseURL: s.URL(), Tenant: tenant, Username: username, Token: testToken, SubscriptionID: "regal",
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
		StreamConfig: sapi.StreamConfig{IdleTimeout: time.Second},
	}, handle, nil)
	must(t, client.Start(context.Background()))
	defer func() { must(t, client.Shutdown(context.Background())) }()
	waitSubscribed(t, s, 1)

	calls := scenario.Mix(11, tenant, 10, time.Unix(1724685483, 0))
	events := scenario.Interleave(calls, 11)
	half := len(events) / 2
	must(t, s.Publish(tenant, events[:half]...))
	poll.Until(t, "the first half received", func() bool { mu.Lock(); defer mu.Unlock(); return len(received) >= half })
	s.Cut(tenant)
	must(t, s.Publish(tenant, events[half:]...))
	s.Failover(tenant)
	must(t, s.Publish(tenant, events[len(events)-1])) // re-sent with a new instance's msgInfo
	poll.Until(t, "every event, its replays and the re-sent one", func() bool { mu.Lock(); defer mu.Unlock(); return len(received) >= len(events)+3+1 })

	mu.Lock()
	defer mu.Unlock()
	if len(received) != len(events)+4 {
		t.Errorf("received %d events, want %d published + 3 replayed + 1 re-sent", len(received), len(events))
	}
	distinct := map[string]bool{}
	for _, key := range received {
		distinct[key] = true
	}
	if len(distinct) != len(events) {
		t.Errorf("%d distinct dedup keys, want %d: duplicates must share keys", len(distinct), len(events))
	}
	for _, c := range calls {
		if c.InteractionID == "" {
			continue
		}
		want := make([]string, len(c.Events))
		for i, ev := range c.Events {
			want[i], _, _ = decode(t, string(ev))
		}
		if got := firstSeen(order[c.InteractionID]); !slices.Equal(got, want) {
			t.Errorf("interaction %s: events arrived as %q, want %q", c.InteractionID, got, want)
		}
	}
	if st := client.Stats(); st.Connects < 2 {
		t.Errorf("client stats %+v, want a reconnect", st)
	}
}

// firstSeen drops repeats, keeping first occurrences in order.
func firstSeen(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
