package eventstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/redistest"
)

// holder is a lease holder as the store sees it: a token per tenant and
// the refusals it was told of.
type holder struct {
	mu      sync.Mutex
	tokens  map[string]uint64 // absent: not held
	refused []string
}

func (h *holder) token(tenant string) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tokens[tenant]
	return t, ok
}

func (h *holder) onFenced(tenant string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refused = append(h.refused, tenant)
}

func (h *holder) refusals() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.refused)
}

func newFencedStore(t *testing.T, rdb redis.UniversalClient, prefix string, tokens map[string]uint64) (*Store, *holder) {
	t.Helper()
	h := &holder{tokens: tokens}
	cfg := DefaultConfig()
	cfg.KeyPrefix = prefix
	cfg.Partitions = 4
	s, err := New(rdb, cfg, WithFencing(h.token), WithOnFenced(h.onFenced))
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

// fencedFixture is a tenant whose fences a new holder (token 2) raised,
// with an unsettled event, a dead letter and a parked one, written by the
// new holder, and the old holder's store (token 1).
type fencedFixture struct {
	old, cur     *Store
	oldHolder    *holder
	pending      Entry
	dead, parked DeadEntry
}

func newFencedFixture(t *testing.T, rdb redis.UniversalClient, prefix string) fencedFixture {
	t.Helper()
	ctx := context.Background()
	old, oldHolder := newFencedStore(t, rdb, prefix, map[string]uint64{"acme": 1})
	cur, _ := newFencedStore(t, rdb, prefix, map[string]uint64{"acme": 2})
	if err := cur.RaiseFence(ctx, "acme", 2); err != nil {
		t.Fatal(err)
	}
	adm, err := cur.Admit(ctx, []*eventv1.Event{testEvent("int-1", "k1"), testEvent("int-2", "k2"), testEvent("int-3", "k3")})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := cur.Settle(ctx, []Settlement{
		{Entry: adm[1].Entry, Dead: &DeadLetter{Reason: "bad", Attempts: 1, At: at}},
		{Entry: adm[2].Entry, Dead: &DeadLetter{Reason: "held", Attempts: 1, At: at, Hold: true}},
	}); err != nil {
		t.Fatal(err)
	}
	dead, err := cur.DeadLetters(ctx, "acme", DeadLetterFilter{}, 0)
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	f := fencedFixture{old: old, cur: cur, oldHolder: oldHolder, pending: adm[0].Entry}
	for _, d := range dead {
		if d.Holds {
			f.parked = d
		} else {
			f.dead = d
		}
	}
	return f
}

// snapshot is every key of the prefix with its value, as DUMP gives it.
func snapshot(t *testing.T, rdb redis.UniversalClient, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := redistest.Keys(ctx, rdb, prefix+":*") // every primary's, on a cluster
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ := rdb.Type(ctx, k).Val()
		switch typ {
		case "string":
			out[k] = rdb.Get(ctx, k).Val()
		case "stream":
			msgs := rdb.XRange(ctx, k, "-", "+").Val()
			for _, m := range msgs {
				out[k] += m.ID + ";"
			}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				out[k] += f + "=" + v + ";"
			}
		default:
			out[k] = typ
		}
	}
	return out
}

// TestFencing_a_stale_token_is_refused_on_every_write_path: once a new
// holder raised the fences, every write of the old holder (token below
// the fence) fails with ErrFenced, changes nothing in Redis, and is
// reported; the new holder writes.
func TestFencing_a_stale_token_is_refused_on_every_write_path(t *testing.T) {
	writes := []struct {
		name  string
		write func(ctx context.Context, s *Store, f fencedFixture) error
	}{
		{"admit", func(ctx context.Context, s *Store, _ fencedFixture) error {
			ev := testEvent("int-9", "k9")
			ev.TraceContext = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
			_, err := s.Admit(ctx, []*eventv1.Event{ev})
			return err
		}},
		{"settle", func(ctx context.Context, s *Store, f fencedFixture) error {
			return s.Settle(ctx, []Settlement{{Entry: f.pending}})
		}},
		{"dead_letter", func(ctx context.Context, s *Store, f fencedFixture) error {
			return s.Settle(ctx, []Settlement{{Entry: f.pending, Dead: &DeadLetter{Reason: "x", At: time.Now()}}})
		}},
		{"park", func(ctx context.Context, s *Store, f fencedFixture) error {
			return s.Settle(ctx, []Settlement{{Entry: f.pending, Dead: &DeadLetter{Reason: "x", At: time.Now(), Hold: true}}})
		}},
		{"replay", func(ctx context.Context, s *Store, f fencedFixture) error {
			_, err := s.Replay(ctx, []DeadEntry{f.dead, f.parked})
			return err
		}},
		{"unhold", func(ctx context.Context, s *Store, f fencedFixture) error {
			_, err := s.Unhold(ctx, "acme", f.parked.Partition)
			return err
		}},
		{"trim", func(ctx context.Context, s *Store, f fencedFixture) error {
			// Far in the future: every letter is beyond the age bound.
			_, err := s.TrimDeadLetters(ctx, "acme", f.dead.Partition, time.Now().Add(365*24*time.Hour))
			return err
		}},
		{"keep_malformed", func(ctx context.Context, s *Store, _ fencedFixture) error {
			return s.KeepMalformed(ctx, "acme", Malformed{Frame: []byte("{"), Reason: "truncated", At: time.Now()})
		}},
	}
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb := b.Start(t, redistest.Options{}).Client(t)
			for _, w := range writes {
				t.Run(w.name, func(t *testing.T) {
					ctx := context.Background()
					prefix := "fence-" + w.name
					f := newFencedFixture(t, rdb, prefix)
					before := snapshot(t, rdb, prefix)
					err := w.write(ctx, f.old, f)
					if !errors.Is(err, ErrFenced) {
						t.Fatalf("old holder's write: %v, want ErrFenced", err)
					}
					var fe *FencedError
					if !errors.As(err, &fe) || !slices.Equal(fe.Tenants, []string{"acme"}) {
						t.Errorf("error %v, want a *FencedError naming acme", err)
					}
					if after := snapshot(t, rdb, prefix); !maps.Equal(before, after) {
						t.Errorf("the refused write changed Redis:\nbefore %v\nafter  %v", before, after)
					}
					if got := f.oldHolder.refusals(); !slices.Contains(got, "acme") {
						t.Errorf("refusals reported %v, want acme", got)
					}
					if err := w.write(ctx, f.cur, f); err != nil {
						t.Fatalf("the new holder's write: %v", err)
					}
				})
			}
		})
	}
}

// TestFencing_the_fence_only_goes_up: raising a fence to an older token
// fails and leaves it; a newer token raises it; every partition's fence
// moves together.
func TestFencing_the_fence_only_goes_up(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	s, _ := newFencedStore(t, rdb, "fence-up", nil)
	ctx := context.Background()
	steps := []struct {
		raise   uint64
		wantErr bool
		want    uint64
	}{
		{raise: 5, want: 5},
		{raise: 5, want: 5}, // idempotent
		{raise: 3, wantErr: true, want: 5},
		{raise: 7, want: 7},
	}
	for _, st := range steps {
		err := s.RaiseFence(ctx, "acme", st.raise)
		if gotErr := errors.Is(err, ErrFenced); gotErr != st.wantErr || (err != nil && !gotErr) {
			t.Fatalf("RaiseFence(%d) = %v, want fenced %v", st.raise, err, st.wantErr)
		}
		for p := range s.Partitions() {
			if got, err := s.Fence(ctx, "acme", p); err != nil || got != st.want {
				t.Fatalf("after RaiseFence(%d): partition %d fence %d (%v), want %d", st.raise, p, got, err, st.want)
			}
		}
		if got := rdb.Get(ctx, s.malformedFenceKey("acme")).Val(); got != "" && got != uintString(st.want) {
			t.Fatalf("malformed fence %q, want %d", got, st.want)
		}
	}
	if got, _ := s.Fence(ctx, "globex", 0); got != 0 {
		t.Fatalf("another tenant's fence %d, want 0 (untouched)", got)
	}
}

func uintString(v uint64) string { return strconv.FormatUint(v, 10) }

// TestFencing_a_lease_not_held_refuses_without_reaching_redis: a tenant
// whose lease is not held is refused locally (the Redis behind the store
// is not even reachable), and a settlement batch of two tenants settles
// the held one's and names the other.
func TestFencing_a_lease_not_held_refuses_without_reaching_redis(t *testing.T) {
	ctx := context.Background()
	unreachable := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = unreachable.Close() })
	s, h := newFencedStore(t, unreachable, "fence-local", map[string]uint64{})
	if _, err := s.Admit(ctx, []*eventv1.Event{testEvent("int-1", "k1")}); !errors.Is(err, ErrFenced) {
		t.Fatalf("admit: %v, want ErrFenced without reaching Redis", err)
	}
	if err := s.KeepMalformed(ctx, "acme", Malformed{Frame: []byte("{"), At: time.Now()}); !errors.Is(err, ErrFenced) {
		t.Fatalf("keep malformed: %v, want ErrFenced", err)
	}
	if got := h.refusals(); len(got) != 2 {
		t.Fatalf("refusals %v, want two", got)
	}

	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	s, _ = newFencedStore(t, rdb, "fence-mixed", map[string]uint64{"globex": 1})
	g := testEvent("int-g", "kg")
	g.Tenant = "globex"
	adm, err := s.Admit(ctx, []*eventv1.Event{g})
	if err != nil {
		t.Fatal(err)
	}
	a := Entry{Ref: Ref{Tenant: "acme", Partition: 0, ID: "1-1"}, Event: testEvent("int-1", "k1")}
	err = s.Settle(ctx, []Settlement{{Entry: a}, {Entry: adm[0].Entry}})
	var fe *FencedError
	if !errors.As(err, &fe) || !slices.Equal(fe.Tenants, []string{"acme"}) {
		t.Fatalf("Settle = %v, want acme refused", err)
	}
	if left := unsettledAll(t, s, "globex", adm[0].Entry.Ref.Partition); len(left) != 0 {
		t.Fatalf("globex's entry not settled beside the refused tenant: %v", left)
	}
}
