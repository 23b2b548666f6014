package scheduler

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/ccbridge/bridge/collector/eventstore"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/poll"
)

// countingSettler is a real in-memory Settler that keeps nothing of what it
// is given, so that whatever still holds a settled event is the scheduler.
type countingSettler struct{ n atomic.Int64 }

func (c *countingSettler) Settle(_ context.Context, sts []eventstore.Settlement) error {
	c.n.Add(int64(len(sts)))
	return nil
}

// enqueueTracked enqueues one event per key and returns weak pointers to
// the events, so the caller holds none of them.
func enqueueTracked(t *testing.T, s *Scheduler, keys ...string) []weak.Pointer[eventv1.Event] {
	t.Helper()
	entries := make([]eventstore.Entry, len(keys))
	tracked := make([]weak.Pointer[eventv1.Event], len(keys))
	for i, k := range keys {
		entries[i] = entry(k)
		tracked[i] = weak.Make(entries[i].Event)
	}
	if err := s.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	return tracked
}

// deliverAndAck takes n deliveries from sess and acknowledges each as
// delivered, holding none of them afterwards.
func deliverAndAck(t *testing.T, s *Scheduler, sess *Session, n int) {
	t.Helper()
	for range n {
		d := next(t, sess)
		if err := s.Ack(sess, d.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
}

// stillHeld counts the tracked events a full collection did not free.
func stillHeld(tracked []weak.Pointer[eventv1.Event]) int {
	runtime.GC()
	runtime.GC()
	n := 0
	for _, w := range tracked {
		if w.Value() != nil {
			n++
		}
	}
	return n
}

// A settled event must become garbage: the collector's memory after a
// burst depends on it. Reused batch arrays and popped queue heads kept
// settled events (and their payloads) alive until overwritten, which after a
// burst meant until the next burst.
func TestSettledEventsAreNotKeptAlive(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Scheduler, sink *countingSettler) []weak.Pointer[eventv1.Event]
	}{
		{
			name: "a_burst_settled_in_one_write_then_a_quiet_single_settlement",
			run: func(t *testing.T, s *Scheduler, sink *countingSettler) []weak.Pointer[eventv1.Event] {
				sess := s.Join("d1", 64)
				keys := make([]string, 32)
				for i := range keys {
					keys[i] = "burst-" + strconv.Itoa(i)
				}
				burst := enqueueTracked(t, s, keys...)
				deliverAndAck(t, s, sess, len(keys))
				poll.Until(t, "the burst settled", func() bool { return sink.n.Load() == int64(len(keys)) })
				enqueueTracked(t, s, "quiet")
				deliverAndAck(t, s, sess, 1)
				poll.Until(t, "the quiet event settled", func() bool { return sink.n.Load() == int64(len(keys))+1 })
				return burst
			},
		},
		{
			name: "a_keys_settled_event_while_its_next_event_is_in_flight",
			run: func(t *testing.T, s *Scheduler, sink *countingSettler) []weak.Pointer[eventv1.Event] {
				sess := s.Join("d1", 8)
				first := enqueueTracked(t, s, "int-1", "int-1", "int-1")[:1]
				deliverAndAck(t, s, sess, 1)
				poll.Until(t, "the first event settled", func() bool { return sink.n.Load() == 1 })
				if d := next(t, sess); d.Entry.Event.GetOrderKey() != "int-1" {
					t.Fatalf("second delivery of key %q, want int-1", d.Entry.Event.GetOrderKey())
				}
				return first
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SettleLinger = 100 * time.Millisecond // the burst's acks in one write
			sink := &countingSettler{}
			s := newSched(t, cfg, sink)
			tracked := tt.run(t, s, sink)
			if n := stillHeld(tracked); n > 0 {
				t.Fatalf("%d of %d settled events still reachable after a collection", n, len(tracked))
			}
		})
	}
}
