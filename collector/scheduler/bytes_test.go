package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/internal/poll"
)

// sized is an entry of key whose stored encoding is n bytes, so that its
// EntryBytes is dominated by n.
func sized(key string, n int) eventstore.Entry {
	e := entry(key)
	e.Payload = bytes.Repeat([]byte{'x'}, n)
	return e
}

// enqueueAsync runs Enqueue in the background; the channel gets its error.
func enqueueAsync(s *Scheduler, entries ...eventstore.Entry) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Enqueue(context.Background(), entries) }()
	return done
}

// stillWaiting fails the test if done already has Enqueue's result.
func stillWaiting(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("Enqueue returned (%v) while the buffer was full", err)
	case <-time.After(30 * time.Millisecond):
	}
}

func waitEnqueued(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Enqueue still waiting")
	}
}

func TestEnqueueWaitsWhileTheBufferHoldsItsBytes(t *testing.T) {
	a1, a2, a3 := sized("a", 10_000), sized("b", 10_000), sized("c", 10_000)
	one := eventstore.EntryBytes(a1)
	cfg := testConfig()
	cfg.MaxBufferedBytes = 2 * one // two entries fill it
	s := newSched(t, cfg, &settleSink{})
	sess := s.Join("d1", 10) // joined first: keys are ready in their order

	done := enqueueAsync(s, a1, a2, a3)
	poll.Until(t, "2 events buffered", func() bool { return s.Stats().Buffered == 2 })
	stillWaiting(t, done)
	if st := s.Stats(); st.BufferedBytes != 2*one {
		t.Fatalf("buffered bytes %d, want %d (two entries of %d)", st.BufferedBytes, 2*one, one)
	}

	d := next(t, sess)
	if d.Entry.Ref != a1.Ref {
		t.Fatalf("first delivery %v, want %v", d.Entry.Ref, a1.Ref)
	}
	if got := s.Stats().InFlightBytesBy["d1"]; got != one {
		t.Fatalf("in-flight bytes of d1 %d, want %d", got, one)
	}
	if err := s.Ack(sess, d.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	waitEnqueued(t, done) // a1's settlement made room for a3
	for _, want := range []eventstore.Entry{a2, a3} {
		d := next(t, sess)
		if d.Entry.Ref != want.Ref {
			t.Fatalf("delivery %v, want %v", d.Entry.Ref, want.Ref)
		}
		if err := s.Ack(sess, d.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "the buffer empty, in count and in bytes", func() bool { st := s.Stats(); return st.Buffered == 0 && st.BufferedBytes == 0 })
	if got := s.Stats().InFlightBytesBy["d1"]; got != 0 {
		t.Fatalf("in-flight bytes of d1 %d after every ack, want 0", got)
	}
}

// An entry larger than the whole byte bound must still be scheduled (the
// bound is soft by one entry), or a large event recovered from Redis, or
// read off SAPI, would wait forever for space it can never have; and the
// entries of one key behind it keep their order.
func TestEntriesLargerThanTheBoundAreScheduledInOrder(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBufferedBytes = 1000
	cfg.MaxInFlightBytes = 1000
	s := newSched(t, cfg, &settleSink{})
	sess := s.Join("d1", 10)
	var want []eventstore.Ref
	var entries []eventstore.Entry
	for i := range 5 {
		e := sized("int-1", 5000+i)
		entries = append(entries, e)
		want = append(want, e.Ref)
	}
	done := enqueueAsync(s, entries...)
	var got []eventstore.Ref
	for range entries {
		d := next(t, sess)
		got = append(got, d.Entry.Ref)
		if st := s.Stats(); st.Buffered != 1 {
			t.Fatalf("%d entries buffered over a bound smaller than one; want only the one being delivered", st.Buffered)
		}
		if err := s.Ack(sess, d.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
	waitEnqueued(t, done)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

// Recovery at start enqueues what Redis holds before any dispatcher may
// have subscribed, possibly more than the bound: it waits for space like
// the reader, and dispatchers joining later drain it, in order, without
// anything dropped.
func TestRecoveryLargerThanTheBufferWaitsForDispatchers(t *testing.T) {
	cfg := testConfig()
	one := eventstore.EntryBytes(sized("k0", 2000))
	cfg.MaxBufferedBytes = 4 * one
	sink := &settleSink{}
	s := newSched(t, cfg, sink)
	const keys, perKey = 5, 6
	var all []eventstore.Entry
	want := map[string][]eventstore.Ref{}
	for range perKey {
		for k := range keys {
			e := sized(fmt.Sprint("k", k), 2000)
			all = append(all, e)
			want[e.Event.GetOrderKey()] = append(want[e.Event.GetOrderKey()], e.Ref)
		}
	}
	done := enqueueAsync(s, all...)
	poll.Until(t, "4 events buffered", func() bool { return s.Stats().Buffered == 4 })
	stillWaiting(t, done) // no dispatcher yet: recovery waits, nothing is lost

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		sess := s.Join("d1", 3)
		defer s.Leave(sess)
		for {
			d, err := sess.Next(ctx)
			if err != nil {
				return
			}
			_ = s.Ack(sess, d.ID, Result{Outcome: Delivered})
		}
	}()
	waitEnqueued(t, done)
	poll.Until(t, "every event settled", func() bool { return len(sink.settled()) == len(all) })
	cancel()
	<-worked
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
	if st := s.Stats(); st.BufferedBytes != 0 {
		t.Fatalf("buffered bytes %d after everything settled", st.BufferedBytes)
	}
}

func TestEnqueueWaitingForSpaceEndsWithItsContextOrShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBufferedBytes = 1
	s := newSched(t, cfg, &settleSink{})
	first, second, third := sized("a", 100), sized("b", 100), sized("c", 100)
	if err := s.Enqueue(context.Background(), []eventstore.Entry{first}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.Enqueue(ctx, []eventstore.Entry{second}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enqueue on a full buffer: %v, want the context's deadline", err)
	}
	done := enqueueAsync(s, third)
	stillWaiting(t, done)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Enqueue waiting at shutdown: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Enqueue still waiting after Shutdown")
	}
}

func TestSessionInFlightBytesBound(t *testing.T) {
	cfg := testConfig()
	one := eventstore.EntryBytes(sized("k0", 3000))
	cfg.MaxInFlightBytes = one + one/2 // the second delivery goes (soft by one), the third waits
	s := newSched(t, cfg, &settleSink{})
	var entries []eventstore.Entry
	for i := range 4 {
		entries = append(entries, sized(fmt.Sprint("k", i), 3000))
	}
	if err := s.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	sess := s.Join("d1", 100)
	d1 := next(t, sess)
	next(t, sess)
	noDelivery(t, sess)
	if got := s.Stats().InFlightBytesBy["d1"]; got != 2*one {
		t.Fatalf("in flight %d bytes, want %d", got, 2*one)
	}
	if err := s.Ack(sess, d1.ID, Result{Outcome: Delivered}); err != nil {
		t.Fatal(err)
	}
	next(t, sess) // the ack freed the session's bytes
	noDelivery(t, sess)
	// A session that leaves hands its bytes back with its deliveries.
	s.Leave(sess)
	other := s.Join("d2", 100)
	next(t, other)
	if got := s.Stats().InFlightBytesBy; got["d2"] != one || len(got) != 1 {
		t.Fatalf("in-flight bytes by session %v, want only d2 with %d", got, one)
	}
}

func TestByteBoundsValidation(t *testing.T) {
	tests := []struct {
		name     string
		buffered int64
		inFlight int64
		ok       bool
	}{
		{"defaults", DefaultMaxBufferedBytes, DefaultMaxInFlightBytes, true},
		{"zero buffered bytes", 0, DefaultMaxInFlightBytes, false},
		{"negative in-flight bytes", DefaultMaxBufferedBytes, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.MaxBufferedBytes, c.MaxInFlightBytes = tt.buffered, tt.inFlight
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
