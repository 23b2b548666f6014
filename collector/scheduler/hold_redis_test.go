package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
)

// heldWorld is a scheduler over a real Redis event store, restarted at
// will, with the collector's steps around it: recovery (holds first, then
// the unsettled events in stream order) and replay (un-park or move back,
// then release the un-parked interactions from the stream).
type heldWorld struct {
	t     *testing.T
	rdb   *redis.Client
	store *eventstore.Store
	sched *Scheduler
	sess  *Session
}

const heldTenant = "acme"

func newHeldWorld(t *testing.T) *heldWorld {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	w := &heldWorld{t: t, rdb: srv.Client(t)}
	cfg := eventstore.DefaultConfig()
	cfg.KeyPrefix, cfg.Partitions = "held", 4
	var err error
	if w.store, err = eventstore.New(w.rdb, cfg); err != nil {
		t.Fatal(err)
	}
	w.start()
	return w
}

// start runs a scheduler (policy hold) and recovers what Redis holds, as a
// starting collector does.
func (w *heldWorld) start() {
	w.t.Helper()
	s, err := New(testConfig(), w.store, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	_ = s.Start(context.Background())
	w.t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	ctx := context.Background()
	var held []HeldKey
	for p := range w.store.Partitions() {
		hs, err := w.store.HeldInteractions(ctx, heldTenant, p)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, h := range hs {
			held = append(held, HeldKey{Tenant: heldTenant, Partition: p, OrderKey: h.OrderKey, From: h.From})
		}
	}
	s.Hold(held)
	for p := range w.store.Partitions() {
		entries, err := w.store.Unsettled(ctx, heldTenant, p, "", 1000)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := s.Enqueue(ctx, entries); err != nil {
			w.t.Fatal(err)
		}
	}
	w.sched, w.sess = s, s.Join("d1", 10)
}

// restart stops the scheduler, as a collector crash would (what is in
// memory is gone), and starts a new one.
func (w *heldWorld) restart() {
	w.t.Helper()
	w.sched.Leave(w.sess)
	if err := w.sched.Shutdown(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.start()
}

func (w *heldWorld) admit(interaction, dedup string) eventstore.Entry {
	w.t.Helper()
	ev := &eventv1.Event{Tenant: heldTenant, InteractionId: interaction, OrderKey: interaction, EventType: "InteractionCreated", DedupKey: dedup}
	adm, err := w.store.Admit(context.Background(), []*eventv1.Event{ev})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.sched.Enqueue(context.Background(), []eventstore.Entry{adm[0].Entry}); err != nil {
		w.t.Fatal(err)
	}
	return adm[0].Entry
}

// replay replays every dead letter as the collector does, and returns the
// error of the store's replay (the letters it did replay are released).
func (w *heldWorld) replay() error {
	w.t.Helper()
	ctx := context.Background()
	dead, err := w.store.DeadLetters(ctx, heldTenant, eventstore.DeadLetterFilter{}, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	replayed, replayErr := w.store.Replay(ctx, dead)
	for _, r := range replayed {
		if !r.Unparked {
			w.t.Fatalf("letter %s moved back, want it un-parked", r.Letter.ID)
		}
		h, ok := w.sched.IsHeld(heldTenant, r.Letter.OrderKey)
		if !ok {
			w.t.Fatalf("%s was not held", r.Letter.OrderKey)
		}
		pending, err := w.store.PendingOf(ctx, heldTenant, h.Partition, h.From, map[string]bool{h.OrderKey: true})
		if err != nil {
			w.t.Fatal(err)
		}
		if err := w.sched.Release(heldTenant, h.OrderKey, pending[h.OrderKey]); err != nil {
			w.t.Fatal(err)
		}
	}
	return replayErr
}

// deliverAll takes deliveries until none comes, answering with answer,
// and returns the dedup keys delivered, in order.
func (w *heldWorld) deliverAll(answer func(Delivery) Result) []string {
	w.t.Helper()
	var got []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		d, err := w.sess.Next(ctx)
		cancel()
		if err != nil {
			return got
		}
		got = append(got, d.Entry.Event.GetDedupKey())
		if err := w.sched.Ack(w.sess, d.ID, answer(d)); err != nil {
			w.t.Fatal(err)
		}
	}
}

func delivered(Delivery) Result { return Result{Outcome: Delivered, Status: 200} }

// refuse dead-letters the events whose dedup key is in keys.
func refuse(keys ...string) func(Delivery) Result {
	return func(d Delivery) Result {
		for _, k := range keys {
			if d.Entry.Event.GetDedupKey() == k {
				return Result{Outcome: FailedPermanent, Reason: "regal: HTTP 400: traits.phones refused", Attempts: 1, Status: 400}
			}
		}
		return Result{Outcome: Delivered, Status: 200}
	}
}

// interactionsInPartitions returns n interaction ids of distinct partitions.
func interactionsInPartitions(t *testing.T, s *eventstore.Store, rdb *redis.Client, n int) []string {
	t.Helper()
	seen := map[int]bool{}
	var out []string
	for i := 0; len(out) < n && i < 1000; i++ {
		id := fmt.Sprintf("int-%d", i)
		ev := &eventv1.Event{Tenant: heldTenant, InteractionId: id, OrderKey: id, DedupKey: "probe-" + id}
		adm, err := s.Admit(context.Background(), []*eventv1.Event{ev})
		if err != nil {
			t.Fatal(err)
		}
		// Only to learn the partition: settle it away.
		if err := s.Settle(context.Background(), []eventstore.Settlement{{Entry: adm[0].Entry}}); err != nil {
			t.Fatal(err)
		}
		if p := adm[0].Entry.Ref.Partition; !seen[p] {
			seen[p] = true
			out = append(out, id)
		}
	}
	return out
}

func TestHeldInteractionSurvivesARestartAndReplayDeliversItInOrder(t *testing.T) {
	w := newHeldWorld(t)
	w.admit("int-a", "a1")
	w.admit("int-a", "a2")
	w.admit("int-b", "b1")
	if got := w.deliverAll(refuse("a1")); strings.Join(got, ",") != "a1,b1" && strings.Join(got, ",") != "b1,a1" {
		t.Fatalf("delivered %v, want a1 (refused) and b1; a2 held", got)
	}
	poll.Until(t, "one event held and the buffer empty", func() bool { return w.sched.Stats().Held[heldTenant] == 1 && w.sched.Stats().Buffered == 0 })

	// A crash: the new scheduler must keep holding int-a, also against
	// events that arrive after the restart.
	w.restart()
	w.admit("int-a", "a3")
	w.admit("int-b", "b2")
	if got := w.deliverAll(delivered); strings.Join(got, ",") != "b2" {
		t.Fatalf("after the restart delivered %v, want only b2: int-a is held", got)
	}
	if st := w.sched.Stats(); st.Held[heldTenant] != 1 {
		t.Fatalf("held after restart: %v", st.Held)
	}

	if err := w.replay(); err != nil {
		t.Fatal(err)
	}
	if got := w.deliverAll(delivered); strings.Join(got, ",") != "a1,a2,a3" {
		t.Fatalf("after the replay delivered %v, want a1,a2,a3: the replayed event first, then the held ones in order", got)
	}
	poll.Until(t, "the buffer empty", func() bool { return w.sched.Stats().Buffered == 0 })
	for p := range w.store.Partitions() {
		if left, _ := w.store.Unsettled(context.Background(), heldTenant, p, "", 10); len(left) != 0 {
			t.Fatalf("partition %d still holds %d unsettled events", p, len(left))
		}
	}
}

// TestReplayFailingPartWayIsResumed makes Redis refuse the replay of one
// of two parked letters (its partition's keys are read-only for the
// bridge's user): the other is replayed and delivered in order, the
// refused one stays a parked dead letter, across a restart too, and
// replaying again delivers it in order.
func TestReplayFailingPartWayIsResumed(t *testing.T) {
	w := newHeldWorld(t)
	ids := interactionsInPartitions(t, w.store, w.rdb, 2)
	if len(ids) != 2 {
		t.Fatalf("found interactions in %d partitions, want 2", len(ids))
	}
	a, b := ids[0], ids[1]
	w.admit(a, "a1")
	w.admit(a, "a2")
	w.admit(b, "b1")
	w.admit(b, "b2")
	w.deliverAll(refuse("a1", "b1"))
	poll.Until(t, "two events held", func() bool { return w.sched.Stats().Held[heldTenant] == 2 })

	dead, err := w.store.DeadLetters(context.Background(), heldTenant, eventstore.DeadLetterFilter{InteractionID: b}, 0)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters of %s: %v %v", b, dead, err)
	}
	// Redis refuses writes to b's partition for a while.
	writable := []string{"resetkeys", "%R~*"}
	for p := range w.store.Partitions() {
		if p != dead[0].Partition {
			writable = append(writable, fmt.Sprintf("~held:{%s:%d}:*", heldTenant, p))
		}
	}
	acl := func(rules ...string) {
		t.Helper()
		args := []any{"ACL", "SETUSER", "default"}
		for _, r := range rules {
			args = append(args, r)
		}
		if err := w.rdb.Do(context.Background(), args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	acl(writable...)
	t.Cleanup(func() { acl("resetkeys", "~*") })

	if err := w.replay(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("replay = %v, want Redis refusing part of it", err)
	}
	if got := w.deliverAll(delivered); strings.Join(got, ",") != "a1,a2" {
		t.Fatalf("after the partial replay delivered %v, want a1,a2", got)
	}
	poll.Until(t, "the buffer empty", func() bool { return w.sched.Stats().Buffered == 0 })
	acl("resetkeys", "~*")

	// Not stranded: b is still a parked dead letter, held across a restart.
	if left, _ := w.store.DeadLetters(context.Background(), heldTenant, eventstore.DeadLetterFilter{}, 0); len(left) != 1 || !left[0].Holds || left[0].OrderKey != b {
		t.Fatalf("dead letters after the partial replay: %+v, want b's, holding", left)
	}
	w.restart()
	if got := w.deliverAll(delivered); len(got) != 0 {
		t.Fatalf("after the restart delivered %v, want nothing: b is held", got)
	}
	if err := w.replay(); err != nil {
		t.Fatal(err)
	}
	if got := w.deliverAll(delivered); strings.Join(got, ",") != "b1,b2" {
		t.Fatalf("after replaying again delivered %v, want b1,b2", got)
	}
}
