package timeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/internal/redistest"
)

func closeRecorder(t *testing.T, r *timeline.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRecorderWritesTheCollectorsCallsInOrder(t *testing.T) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newStore(t, startClient(t, b), "recorder")
			r := newRecorder(t, s, timeline.RecorderOptions{})
			created := alice.event("k-1", "InteractionCreated", 0)
			entry := eventstore.Entry{Ref: eventstore.Ref{Tenant: tenant, ID: "1-0"}, Event: created}
			r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: entry}})
			r.Dispatched(entry, "dispatcher-1", 0)
			r.Retrying(entry, scheduler.Result{Outcome: scheduler.FailedRetryable, Status: 503, Attempts: 5, Reason: "regal 503"}, "dispatcher-1")
			r.Dispatched(entry, "dispatcher-2", 1)
			r.Settled(entry, scheduler.Result{Outcome: scheduler.Delivered, Status: 200, Attempts: 1})
			closeRecorder(t, r)
			if st := r.Stats(); st.Recorded != 5 || st.Dropped != 0 || st.Failed != 0 {
				t.Fatalf("stats %+v", st)
			}
			_, events := getInteraction(t, s, alice.id)
			st := events[0].State
			if st.State != timeline.StateDelivered || st.Attempts != 6 || st.RegalStatus != 200 || st.Redelivery != 0 {
				t.Fatalf("state %+v", st)
			}
			if got := historyTypes(events[0]); fmt.Sprint(got) != "[received dispatched retrying dispatched delivered]" {
				t.Fatalf("history %v", got)
			}
		})
	}
}

func TestRecorderNeverWaitsForAStalledRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(t)
	s := newStore(t, rdb, "stalled")
	r := newRecorder(t, s, timeline.RecorderOptions{QueueSize: 1000, BatchSize: 100, WriteTimeout: 10 * time.Second})
	ctx := context.Background()
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	const calls = 50_000
	var inCalls, slowest time.Duration
	for i := range calls {
		ev := call{id: fmt.Sprintf("int-%d", i%500)}.event(fmt.Sprintf("k-%d", i), "InteractionCreated", 0)
		t0 := time.Now()
		r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: eventstore.Entry{Event: ev}}})
		took := time.Since(t0)
		inCalls += took
		slowest = max(slowest, took)
	}
	if inCalls > time.Second {
		t.Fatalf("%d calls spent %v in Admitted while Redis was paused", calls, inCalls)
	}
	closeRecorder(t, r)
	st := r.Stats()
	t.Logf("while Redis was paused: %d calls spent %v in Admitted (slowest %v); recorded %d, dropped %d", calls, inCalls, slowest, st.Recorded, st.Dropped)
	if st.Dropped == 0 || st.Recorded+st.Dropped+st.Failed != calls {
		t.Fatalf("stats %+v for %d calls", st, calls)
	}
}

func TestRecorderCountsBatchesRedisKeepsFailing(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer rdb.Close()
	s := newStore(t, rdb, "failing")
	m.SetError("LOADING Redis is loading the dataset in memory")
	r := newRecorder(t, s, timeline.RecorderOptions{Attempts: 2})
	r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: eventstore.Entry{Event: alice.event("k-1", "InteractionCreated", 0)}}})
	closeRecorder(t, r)
	if st := r.Stats(); st.Failed != 1 || st.Recorded != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRecorderLingerGathersATrickleIntoOneWrite(t *testing.T) {
	tests := []struct {
		name       string
		linger     time.Duration
		wantWrites int64 // 0: not checked (timing decides)
	}{
		// Far above the time it takes to queue the changes.
		{name: "changes_within_the_linger_share_one_write", linger: 500 * time.Millisecond, wantWrites: 1},
		{name: "without_linger_every_change_is_still_recorded", linger: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, redistest.Start(t, redistest.Options{}).Client(t), "linger")
			r := newRecorder(t, s, timeline.RecorderOptions{Linger: tt.linger})
			created := alice.event("k-1", "InteractionCreated", 0)
			entry := eventstore.Entry{Ref: eventstore.Ref{Tenant: tenant, ID: "1-0"}, Event: created}
			r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: entry}})
			for i := range 3 {
				// A trickle: changes apart in real time, within the linger.
				time.Sleep(5 * time.Millisecond)
				r.Dispatched(entry, "dispatcher-1", i)
			}
			closeRecorder(t, r)
			st := r.Stats()
			if st.Recorded != 4 || st.Dropped != 0 || st.Failed != 0 {
				t.Fatalf("stats %+v", st)
			}
			if tt.wantWrites != 0 && st.Writes != tt.wantWrites {
				t.Fatalf("%d writes, want %d", st.Writes, tt.wantWrites)
			}
			if _, events := getInteraction(t, s, alice.id); len(historyTypes(events[0])) != 4 {
				t.Fatalf("history %v", historyTypes(events[0]))
			}
		})
	}
}

func TestRecorderBoundsTheMemoryItsQueueHolds(t *testing.T) {
	tests := []struct {
		name       string
		queueBytes int64
		wantDrops  bool
	}{
		{name: "a_stalled_redis_fills_the_byte_bound_and_later_changes_are_dropped", queueBytes: 64 << 10, wantDrops: true},
		{name: "a_bound_above_what_is_queued_drops_nothing", queueBytes: 64 << 20, wantDrops: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			rdb := srv.Client(t)
			s := newStore(t, rdb, "bytes")
			r := newRecorder(t, s, timeline.RecorderOptions{QueueSize: 100_000, QueueBytes: tt.queueBytes, BatchSize: 100})
			if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", "500", "ALL").Err(); err != nil {
				t.Fatal(err)
			}
			const calls, raw = 1000, 1024
			for i := range calls {
				ev := call{id: fmt.Sprintf("int-%d", i%50)}.event(fmt.Sprintf("k-%d", i), "InteractionCreated", 0)
				ev.Raw = make([]byte, raw)
				r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: eventstore.Entry{Event: ev}}})
				if st := r.Stats(); st.QueuedBytes > tt.queueBytes {
					t.Fatalf("after %d calls the queue holds %d bytes, above its bound of %d", i+1, st.QueuedBytes, tt.queueBytes)
				}
			}
			closeRecorder(t, r)
			st := r.Stats()
			if st.Recorded+st.Dropped+st.Failed != calls || (st.Dropped > 0) != tt.wantDrops {
				t.Fatalf("stats %+v for %d calls, drops wanted: %v", st, calls, tt.wantDrops)
			}
			if st.QueuedBytes != 0 {
				t.Fatalf("%d bytes still counted as queued after Close", st.QueuedBytes)
			}
		})
	}
}

// Every queued change counts the whole event it keeps alive, whichever
// call made it: after settlement the timeline's queue may be the event's
// last holder, and a change that counted only part of it let the queue hold
// far more memory than its bound.
func TestRecorderCountsTheWholeEventOfEveryChange(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := newStore(t, srv.Client(t), "honest")
	// A long linger and a large batch keep every change queued (or in the
	// batch being gathered, still counted) until Close.
	r := newRecorder(t, s, timeline.RecorderOptions{Linger: time.Hour, BatchSize: 1000})
	// An event whose decoded attached data weigh more than its raw frame:
	// it keeps at least both alive.
	const raw, datums, datumBytes = 16 << 10, 100, 300
	const event = raw + datums*datumBytes
	entry := func(i int) eventstore.Entry {
		ev := call{id: fmt.Sprintf("int-%d", i)}.event(fmt.Sprintf("k-%d", i), "InteractionCreated", 0)
		ev.Raw = make([]byte, raw)
		ev.AttachedData = map[string]string{}
		for d := range datums {
			ev.AttachedData[fmt.Sprintf("datum-%04d", d)] = strings.Repeat("v", datumBytes-10)
		}
		return eventstore.Entry{Ref: eventstore.Ref{Tenant: ev.GetTenant(), ID: fmt.Sprintf("%d-0", i+1)}, Event: ev, Payload: make([]byte, event)}
	}
	tests := []struct {
		name   string
		record func(e eventstore.Entry)
		least  int64 // what the change keeps alive at the least
	}{
		{"admitted, with the stored encoding", func(e eventstore.Entry) {
			r.Admitted([]eventstore.Admission{{Verdict: eventstore.VerdictNew, Entry: e}})
		}, 2 * event},
		{"dispatched", func(e eventstore.Entry) { r.Dispatched(e, "d1", 0) }, event},
		{"retrying", func(e eventstore.Entry) {
			r.Retrying(e, scheduler.Result{Outcome: scheduler.FailedRetryable, Status: 503}, "d1")
		}, event},
		{"settled", func(e eventstore.Entry) { r.Settled(e, scheduler.Result{Outcome: scheduler.Delivered, Status: 200}) }, event},
		{"replayed", func(e eventstore.Entry) { r.Replayed([]eventstore.Entry{e}) }, event},
	}
	for i, tt := range tests {
		before := r.Stats().QueuedBytes
		tt.record(entry(i))
		counted := r.Stats().QueuedBytes - before
		if counted < tt.least || counted > 2*tt.least {
			t.Errorf("%s: counted %d bytes for a change keeping at least %d alive; want within [%d, %d]",
				tt.name, counted, tt.least, tt.least, 2*tt.least)
		}
	}
	closeRecorder(t, r)
	if st := r.Stats(); st.QueuedBytes != 0 || st.Dropped != 0 {
		t.Fatalf("after Close: %+v, want nothing queued or dropped", st)
	}
}
