package deadletter_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/deadletter"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/redistest"
)

const tenant = "acme"

// admitter stands for intake: ops run one at a time, and every tenant's
// recovery is over.
type admitter struct {
	mu        sync.Mutex
	recovered chan struct{}
}

func newAdmitter() *admitter {
	a := &admitter{recovered: make(chan struct{})}
	close(a.recovered)
	return a
}

func (a *admitter) Do(ctx context.Context, _ string, op func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	op()
	return nil
}

func (a *admitter) Recovered(string) <-chan struct{} { return a.recovered }

// world is a keeper over a real Redis store and a started scheduler.
type world struct {
	store *eventstore.Store
	sched *scheduler.Scheduler
	k     *deadletter.Keeper
}

func newWorld(t *testing.T, rdb redis.UniversalClient, prefix, policy string) *world {
	t.Helper()
	cfg := eventstore.DefaultConfig()
	cfg.KeyPrefix = prefix
	w := &world{}
	var err error
	if w.store, err = eventstore.New(rdb, cfg); err != nil {
		t.Fatal(err)
	}
	scfg := scheduler.DefaultConfig()
	scfg.DeadLetterPolicy = policy
	if w.sched, err = scheduler.New(scfg, w.store, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.sched.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.sched.Shutdown(context.Background()) })
	w.k, err = deadletter.New(deadletter.Config{Tenants: []string{tenant}, Policy: policy}, w.store, w.sched, newAdmitter())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.k.Shutdown(context.Background()) })
	return w
}

// admit stores an event of interaction in Redis, as intake does.
func (w *world) admit(t *testing.T, interaction, dedup string) eventstore.Entry {
	t.Helper()
	ev := &eventv1.Event{Tenant: tenant, InteractionId: interaction, OrderKey: interaction, EventType: "InteractionCreated", DedupKey: dedup}
	adm, err := w.store.Admit(context.Background(), []*eventv1.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	return adm[0].Entry
}

// parkedLetter leaves, as an earlier run under policy hold would, a dead
// letter holding interaction and a later event of it waiting behind it.
func (w *world) parkedLetter(t *testing.T, interaction string) {
	t.Helper()
	first := w.admit(t, interaction, interaction+"-first")
	w.admit(t, interaction, interaction+"-later")
	dead := &eventstore.DeadLetter{Reason: "regal 422", Attempts: 1, Status: 422, At: time.Now(), Hold: true}
	if err := w.store.Settle(context.Background(), []eventstore.Settlement{{Entry: first, Dead: dead}}); err != nil {
		t.Fatal(err)
	}
}

// recover restores the holds and schedules the unsettled events, as
// intake does at start (the scheduler leaves a held interaction's events
// in Redis).
func (w *world) recover(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := w.k.RestoreHolds(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	for p := range w.store.Partitions() {
		entries, err := w.store.Unsettled(ctx, tenant, p, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.sched.Enqueue(ctx, entries); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeeperLifecycle(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	n := 0
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			n++
			return newWorld(t, rdb, fmt.Sprintf("lc%d", n), scheduler.PolicyHold).k
		},
		// Start cannot fail: it only launches the bounds watch.
	})
}

func TestKeeper_Settled_counts_the_dead_lettered_outcomes_only(t *testing.T) {
	w := newWorld(t, redistest.Start(t, redistest.Options{}).Client(t), "settled", scheduler.PolicyHold)
	e := eventstore.Entry{Ref: eventstore.Ref{Tenant: tenant}, Event: &eventv1.Event{Tenant: tenant}}
	tests := []struct {
		name    string
		outcome scheduler.Outcome
		counted bool
	}{
		{"delivered", scheduler.Delivered, false},
		{"skipped", scheduler.Skipped, false},
		{"retry", scheduler.FailedRetryable, false},
		{"paused", scheduler.Paused, false},
		{"dead_lettered", scheduler.FailedPermanent, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.k.Count()
			w.k.Settled(e, scheduler.Result{Outcome: tt.outcome})
			if counted := w.k.Count() == before+1; counted != tt.counted {
				t.Fatalf("outcome %v counted %v, want %v", tt.outcome, counted, tt.counted)
			}
		})
	}
}

// TestKeeper_RestoreHolds_follows_the_policy restores what an earlier run
// left: under hold the interaction stays held in the scheduler; under skip
// its hold ends in Redis and nothing is held.
func TestKeeper_RestoreHolds_follows_the_policy(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	tests := []struct {
		policy        string
		wantHeld      int // in the scheduler
		wantHeldRedis int
	}{
		{scheduler.PolicyHold, 1, 1},
		{scheduler.PolicySkip, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			w := newWorld(t, rdb, "restore-"+tt.policy, tt.policy)
			w.parkedLetter(t, "int-1")
			ctx := context.Background()
			if err := w.k.RestoreHolds(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			if got := w.sched.Stats().Held[tenant]; got != tt.wantHeld {
				t.Errorf("scheduler holds %d interactions, want %d", got, tt.wantHeld)
			}
			inRedis := 0
			for p := range w.store.Partitions() {
				hs, err := w.store.HeldInteractions(ctx, tenant, p)
				if err != nil {
					t.Fatal(err)
				}
				inRedis += len(hs)
			}
			if inRedis != tt.wantHeldRedis {
				t.Errorf("Redis holds %d interactions, want %d", inRedis, tt.wantHeldRedis)
			}
		})
	}
}

// TestKeeper_Replay_delivers_the_letter_then_the_events_behind_it: a dry
// run only matches; a replay un-parks the letter and releases its
// interaction, whose events are scheduled again from Redis.
func TestKeeper_Replay_delivers_the_letter_then_the_events_behind_it(t *testing.T) {
	w := newWorld(t, redistest.Start(t, redistest.Options{}).Client(t), "replay", scheduler.PolicyHold)
	w.parkedLetter(t, "int-1")
	w.recover(t)
	if st := w.sched.Stats(); st.Held[tenant] != 1 || st.Buffered != 0 {
		t.Fatalf("after recovery: held %d, buffered %d; want the interaction held and nothing buffered", st.Held[tenant], st.Buffered)
	}
	ctx := context.Background()
	f := eventstore.DeadLetterFilter{InteractionID: "int-1"}
	if _, err := w.k.Replay(ctx, "globex", f, true); err == nil {
		t.Error("Replay of an unknown tenant succeeded")
	}
	dry, err := w.k.Replay(ctx, tenant, f, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Matched) != 1 || dry.Replayed != 0 || w.sched.Stats().Held[tenant] != 1 {
		t.Fatalf("dry run matched %d, replayed %d, held %d; want 1, 0, 1", len(dry.Matched), dry.Replayed, w.sched.Stats().Held[tenant])
	}
	res, err := w.k.Replay(ctx, tenant, f, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matched) != 1 || res.Replayed != 1 {
		t.Fatalf("replay matched %d, replayed %d; want 1 and 1", len(res.Matched), res.Replayed)
	}
	if st := w.sched.Stats(); st.Held[tenant] != 0 || st.Buffered != 2 {
		t.Fatalf("after the replay: held %d, buffered %d; want 0 held and the letter and the event behind it buffered", st.Held[tenant], st.Buffered)
	}
}
