package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/collector/eventstore"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/poll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// settleSink is a real in-memory Settler that records what it is given and
// can be told to fail.
type settleSink struct {
	mu      sync.Mutex
	got     []eventstore.Settlement
	batches []int // sizes of the successful calls
	failFor int   // fail this many calls first
}

func (k *settleSink) Settle(_ context.Context, sts []eventstore.Settlement) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failFor > 0 {
		k.failFor--
		return errors.New("redis down")
	}
	k.got = append(k.got, sts...)
	k.batches = append(k.batches, len(sts))
	return nil
}

func (k *settleSink) batchSizes() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]int(nil), k.batches...)
}

func (k *settleSink) settled() []eventstore.Settlement {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]eventstore.Settlement(nil), k.got...)
}

var seq int

func entry(key string) eventstore.Entry {
	seq++
	return eventstore.Entry{
		Ref:   eventstore.Ref{Tenant: "acme", ID: fmt.Sprintf("%d-0", seq)},
		Event: &eventv1.Event{OrderKey: key, InteractionId: key, DedupKey: fmt.Sprint(seq)},
	}
}

func newSched(t *testing.T, cfg Config, sink Settler) *Scheduler {
	t.Helper()
	s, err := New(cfg, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func testConfig() Config {
	c := DefaultConfig()
	c.RetryDelayMin = time.Millisecond
	c.RetryDelayMax = 5 * time.Millisecond
	return c
}

func next(t *testing.T, sess *Session) Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sess.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return d
}

func noDelivery(t *testing.T, sess *Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if d, err := sess.Next(ctx); err == nil {
		t.Fatalf("unexpected delivery of %s", d.Entry.Event.GetOrderKey())
	}
}

func TestOneUnsettledEventPerKey(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	a := s.Join("d1", 10)
	e1, e2 := entry("int-1"), entry("int-1")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	d := next(t, a)
	if d.Entry.Ref != e1.Ref {
		t.Fatalf("first delivery %v, want %v", d.Entry.Ref, e1.Ref)
	}
	noDelivery(t, a) // e2 waits for e1's settlement
	if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	if d2 := next(t, a); d2.Entry.Ref != e2.Ref {
		t.Fatalf("second delivery %v, want %v", d2.Entry.Ref, e2.Ref)
	}
}

func TestSlowKeyDoesNotBlockOthers(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	a := s.Join("d1", 10)
	slow, slow2 := entry("slow"), entry("slow")
	var others []eventstore.Entry
	for i := range 5 {
		others = append(others, entry(fmt.Sprintf("fast-%d", i)))
	}
	if err := s.Enqueue(context.Background(), append([]eventstore.Entry{slow, slow2}, others...)); err != nil {
		t.Fatal(err)
	}
	held := next(t, a) // the slow key's head, never acknowledged here
	if held.Entry.Ref != slow.Ref {
		t.Fatalf("got %v", held.Entry.Ref)
	}
	seen := map[string]bool{}
	for range others {
		d := next(t, a)
		seen[d.Entry.Event.GetOrderKey()] = true
		if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != len(others) {
		t.Fatalf("other keys delivered: %v", seen)
	}
}

func TestLeaveRedeliversInOrderToAnotherSession(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	a := s.Join("d1", 10)
	e1, e2 := entry("k"), entry("k")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	d := next(t, a)
	b := s.Join("d2", 10)
	s.Leave(a)
	if _, err := a.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Leave: %v", err)
	}
	if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); !errors.Is(err, ErrUnknownDelivery) {
		t.Fatalf("late ack: %v", err)
	}
	r := next(t, b)
	if r.Entry.Ref != e1.Ref || r.Redelivery != 1 {
		t.Fatalf("redelivery: %v (%d), want %v (1)", r.Entry.Ref, r.Redelivery, e1.Ref)
	}
	if err := s.Ack(b, r.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	if r2 := next(t, b); r2.Entry.Ref != e2.Ref {
		t.Fatalf("then %v, want %v", r2.Entry.Ref, e2.Ref)
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		outcome  Result
		wantDead bool
		wantRedo bool
	}{
		{"delivered_is_settled", Result{Outcome: Delivered, Attempts: 1, Status: 200}, false, false},
		{"skipped_is_settled", Result{Outcome: Skipped, Reason: "no_phone"}, false, false},
		{"permanent_failure_is_dead_lettered", Result{Outcome: FailedPermanent, Reason: "regal 400", Attempts: 1, Status: 400}, true, false},
		{"retryable_failure_is_delivered_again", Result{Outcome: FailedRetryable, Reason: "shutting down"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &settleSink{}
			s := newSched(t, testConfig(), sink)
			a := s.Join("d1", 1)
			e := entry("k")
			if err := s.Enqueue(context.Background(), []eventstore.Entry{e}); err != nil {
				t.Fatal(err)
			}
			d := next(t, a)
			if err := s.Ack(a, d.ID, tt.outcome); err != nil {
				t.Fatal(err)
			}
			if tt.wantRedo {
				r := next(t, a)
				if r.Entry.Ref != e.Ref || r.Redelivery != 1 {
					t.Fatalf("redelivery %v %d", r.Entry.Ref, r.Redelivery)
				}
				return
			}
			poll.Until(t, "the settlement", func() bool { return len(sink.settled()) == 1 })
			st := sink.settled()[0]
			if (st.Dead != nil) != tt.wantDead {
				t.Fatalf("dead letter = %v, want %v", st.Dead, tt.wantDead)
			}
			if tt.wantDead && (st.Dead.Reason != tt.outcome.Reason || st.Dead.Status != 400) {
				t.Fatalf("dead letter %+v", st.Dead)
			}
			poll.Until(t, "the buffer and its keys empty", func() bool { return s.Stats().Buffered == 0 && s.Stats().Keys == 0 })
		})
	}
}

func TestSettlementFailureHoldsKeyUntilDurable(t *testing.T) {
	sink := &settleSink{failFor: 3}
	s := newSched(t, testConfig(), sink)
	a := s.Join("d1", 10)
	e1, e2 := entry("k"), entry("k")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	d := next(t, a)
	if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	d2 := next(t, a)
	if d2.Entry.Ref != e2.Ref {
		t.Fatalf("got %v", d2.Entry.Ref)
	}
	if got := sink.settled(); len(got) != 1 || got[0].Entry.Ref != e1.Ref {
		t.Fatalf("e2 released before e1's settlement was durable: %v", got)
	}
}

func TestEnqueueBlocksWhenBufferFull(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBuffered = 2
	s := newSched(t, cfg, &settleSink{})
	a := s.Join("d1", 10)
	if err := s.Enqueue(context.Background(), []eventstore.Entry{entry("a"), entry("b")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.Enqueue(ctx, []eventstore.Entry{entry("c")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enqueue on a full buffer: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Enqueue(context.Background(), []eventstore.Entry{entry("c")}) }()
	d := next(t, a)
	if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestKnownEntriesAreIgnored(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	e := entry("k")
	for range 3 {
		if err := s.Enqueue(context.Background(), []eventstore.Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats().Buffered; got != 1 {
		t.Fatalf("buffered %d, want 1", got)
	}
}

func TestInFlightBoundPerSession(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	a := s.Join("d1", 2)
	for i := range 5 {
		if err := s.Enqueue(context.Background(), []eventstore.Entry{entry(fmt.Sprint("k", i))}); err != nil {
			t.Fatal(err)
		}
	}
	next(t, a)
	next(t, a)
	noDelivery(t, a)
	if a.InFlight() != 2 {
		t.Fatalf("in flight %d", a.InFlight())
	}
}

// TestOrderUnderChurn runs many keys through sessions that come and go and
// fail at random, and checks that each key's events were settled in order
// and exactly once.
func TestOrderUnderChurn(t *testing.T) {
	tight := testConfig() // a few entries' bytes: Enqueue and Next wait often
	tight.MaxBufferedBytes = 5 * eventstore.EntryBytes(entry("int-0"))
	tight.MaxInFlightBytes = 2 * eventstore.EntryBytes(entry("int-0"))
	for name, cfg := range map[string]Config{"count bounds": testConfig(), "tight byte bounds": tight} {
		t.Run(name, func(t *testing.T) { orderUnderChurn(t, cfg) })
	}
}

func orderUnderChurn(t *testing.T, cfg Config) {
	sink := &settleSink{}
	s := newSched(t, cfg, sink)
	const keys, perKey = 40, 25
	want := map[string][]eventstore.Ref{}
	var all []eventstore.Entry
	for i := range perKey {
		for k := range keys {
			e := entry(fmt.Sprint("int-", k))
			want[e.Event.GetOrderKey()] = append(want[e.Event.GetOrderKey()], e.Ref)
			all = append(all, e)
			_ = i
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	worker := func(name string, seed uint64, life int) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 1))
		for ctx.Err() == nil {
			sess := s.Join(name, 4)
			for n := 0; n < life; n++ {
				d, err := sess.Next(ctx)
				if err != nil {
					break
				}
				out := Delivered
				if rng.IntN(10) == 0 {
					out = FailedRetryable
				}
				if rng.IntN(20) == 0 {
					break // die with the delivery unacknowledged
				}
				_ = s.Ack(sess, d.ID, Result{Outcome: out})
			}
			s.Leave(sess)
		}
	}
	for i := range 3 {
		wg.Add(1)
		go worker(fmt.Sprint("d", i), uint64(i), 30+i*7)
	}
	if err := s.Enqueue(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "every event settled", func() bool { return len(sink.settled()) >= len(all) })
	cancel()
	wg.Wait()
	got := map[string][]eventstore.Ref{}
	for _, st := range sink.settled() {
		k := st.Entry.Event.GetOrderKey()
		got[k] = append(got[k], st.Entry.Ref)
	}
	for k, refs := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(refs) {
			t.Fatalf("key %s settled as %v, want %v", k, got[k], refs)
		}
	}
}

func TestShutdownIsIdempotentAndSafeBeforeStart(t *testing.T) {
	s, err := New(testConfig(), &settleSink{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Enqueue(context.Background(), []eventstore.Entry{entry("k")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Shutdown: %v", err)
	}
}

func TestDrainWaitsForInFlightAndHandsOutNothingNew(t *testing.T) {
	sink := &settleSink{}
	s := newSched(t, testConfig(), sink)
	a := s.Join("d1", 10)
	if err := s.Enqueue(context.Background(), []eventstore.Entry{entry("a"), entry("b")}); err != nil {
		t.Fatal(err)
	}
	d := next(t, a)
	drained := make(chan error, 1)
	go func() { drained <- s.Drain(context.Background()) }()
	poll.Until(t, "the drain to begin", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.draining })
	noDelivery(t, a)
	if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if got := len(sink.settled()); got != 1 {
		t.Fatalf("settled %d before drain returned, want 1", got)
	}
}

func TestSettledEntryOfferedAgainIsNotDeliveredAgain(t *testing.T) {
	sink := &settleSink{}
	s := newSched(t, testConfig(), sink)
	a := s.Join("d1", 10)
	e := entry("k")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{e}); err != nil {
		t.Fatal(err)
	}
	d := next(t, a)
	if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the settlement and the buffer empty", func() bool { return len(sink.settled()) == 1 && s.Stats().Buffered == 0 })
	// A replay admitted while the original was still pending reports the
	// original's ref; by the time it is offered the original is settled.
	if err := s.Enqueue(context.Background(), []eventstore.Entry{e}); err != nil {
		t.Fatal(err)
	}
	noDelivery(t, a)
	if got := s.Stats().Buffered; got != 0 {
		t.Fatalf("buffered %d, want 0", got)
	}
}

func TestRetryBudgetDeadLettersWithTotalAttempts(t *testing.T) {
	sink := &settleSink{}
	cfg := testConfig()
	cfg.MaxAttempts = 9
	s := newSched(t, cfg, sink)
	a := s.Join("d1", 1)
	e := entry("k")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{e}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		d := next(t, a)
		if d.Redelivery != i {
			t.Fatalf("delivery %d has redelivery %d", i, d.Redelivery)
		}
		if err := s.Ack(a, d.ID, Result{Outcome: FailedRetryable, Attempts: 3, Status: 503, Reason: "regal 503"}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "the settlement", func() bool { return len(sink.settled()) == 1 })
	dead := sink.settled()[0].Dead
	if dead == nil || dead.Attempts != 9 || dead.Status != 503 || !strings.Contains(dead.Reason, "retry budget spent") || !strings.Contains(dead.Reason, "regal 503") {
		t.Fatalf("dead letter %+v", dead)
	}
}

func TestSettleLingerGathersAcknowledgementsIntoOneWrite(t *testing.T) {
	cfg := testConfig()
	cfg.SettleLinger = 300 * time.Millisecond // far above the acks' spread
	sink := &settleSink{}
	s := newSched(t, cfg, sink)
	a := s.Join("d1", 10)
	var entries []eventstore.Entry
	for i := range 5 {
		entries = append(entries, entry(fmt.Sprintf("int-%d", i)))
	}
	if err := s.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	for range entries {
		d := next(t, a)
		if err := s.Ack(a, d.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "every event settled", func() bool { return len(sink.settled()) == len(entries) })
	if got := sink.batchSizes(); !slices.Equal(got, []int{5}) {
		t.Fatalf("settlement writes %v, want one write of 5", got)
	}
}

func TestSettleLingerValidation(t *testing.T) {
	tests := []struct {
		name    string
		linger  time.Duration
		wantErr bool
	}{
		{name: "zero_writes_at_once", linger: 0},
		{name: "default_two_milliseconds", linger: 2 * time.Millisecond},
		{name: "negative_is_refused", linger: -time.Millisecond, wantErr: true},
		{name: "above_a_second_is_refused", linger: 2 * time.Second, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.SettleLinger = tt.linger
			if err := c.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
