package eventstore

import (
	"context"
	"testing"
	"time"

	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestDedupWindowRunsFromSettlement, against a real redis-server with a
// dedup TTL of one second (below what Validate allows, so that time can
// pass): an event pending longer than the TTL keeps its key; once settled
// its key lives the TTL from then, so a replay after the admission's TTL
// but within the TTL of the settlement is a duplicate, and one after that
// is new.
func TestDedupWindowRunsFromSettlement(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	rdb := srv.Client(t)
	cfg := DefaultConfig()
	cfg.KeyPrefix, cfg.Partitions, cfg.DedupTTL = "window", 4, time.Second
	s := &Store{rdb: rdb, cfg: cfg} // not New: its Validate wants hours
	ctx := context.Background()

	ev := testEvent("int-held", "held")
	a := admitOne(t, s, ev)
	key := s.seenKey("acme", a.Entry.Ref.Partition, "held")
	// Pending for well past the TTL (a paused tenant, a held
	// interaction): the key is there all along.
	for pendingUntil := time.Now().Add(cfg.DedupTTL + cfg.DedupTTL/2); time.Now().Before(pendingUntil); {
		if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Fatalf("the dedup key of a pending event expired (exists %d, %v)", n, err)
		}
		time.Sleep(20 * time.Millisecond) // Redis expires on its own clock: real time must pass; this paces the checks
	}
	if got := admitOne(t, s, ev); got.Verdict != VerdictDuplicatePending {
		t.Fatalf("a replay while pending past the TTL: %v, want duplicate_pending", got.Verdict)
	}

	settledAt := time.Now() // the TTL is set after this, inside Settle
	if err := s.Settle(ctx, []Settlement{{Entry: a.Entry}}); err != nil {
		t.Fatal(err)
	}
	ms, err := rdb.PTTL(ctx, key).Result()
	if err != nil || ms <= 0 || ms > cfg.DedupTTL {
		t.Fatalf("PTTL after settlement %s (%v), want within (0, %s]", ms, err, cfg.DedupTTL)
	}
	// Past the admission's TTL, within the settlement's: a duplicate.
	if got := admitOne(t, s, ev); got.Verdict != VerdictDuplicate {
		t.Fatalf("a replay %s after settlement: %v, want duplicate", time.Since(settledAt), got.Verdict)
	}
	// The window ends: Redis expires the key, and the event is new again.
	poll.Until(t, "Redis to expire the dedup key", func() bool {
		n, err := rdb.Exists(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	if gone := time.Since(settledAt); gone < cfg.DedupTTL {
		t.Fatalf("the dedup key expired %s after settlement, before the TTL of %s", gone, cfg.DedupTTL)
	}
	if got := admitOne(t, s, ev); got.Verdict != VerdictNew {
		t.Fatalf("a replay after the window: %v, want new", got.Verdict)
	}
}
