package timeline_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/internal/redistest"
)

// commandLog records the commands a client sends, as "name key [field]"
// with the key prefix cut.
type commandLog struct {
	prefix string
	mu     sync.Mutex
	cmds   []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.add(cmd)
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			l.add(c)
		}
		return next(ctx, cmds)
	}
}

func (l *commandLog) add(cmd redis.Cmder) {
	args := cmd.Args()
	s := cmd.Name()
	if len(args) > 1 {
		s += " " + strings.TrimPrefix(fmt.Sprint(args[1]), l.prefix+":tl:")
	}
	if cmd.Name() == "hsetnx" && len(args) > 2 {
		s += " " + fmt.Sprint(args[2])
	}
	l.mu.Lock()
	l.cmds = append(l.cmds, s)
	l.mu.Unlock()
}

// take returns the commands logged since the last take, those named in
// names only, sorted.
func (l *commandLog) take(names ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.cmds {
		name, _, _ := strings.Cut(c, " ")
		if slices.Contains(names, name) {
			out = append(out, c)
		}
	}
	l.cmds = nil
	sort.Strings(out)
	return out
}

// clockedStore is a store whose clock the test moves, with a log of the
// commands sent on rdb.
func clockedStore(t *testing.T, rdb redis.UniversalClient, prefix string, start time.Time) (*timeline.Store, *commandLog, func(time.Duration)) {
	t.Helper()
	log := &commandLog{prefix: prefix}
	rdb.AddHook(log)
	s := newStore(t, rdb, prefix)
	now := start
	var mu sync.Mutex
	timeline.SetClock(s, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	return s, log, advance
}

// plain is a call without phone, campaign, queue or agent: its events are
// indexed under "all" only.
var plain = call{id: "int-plain"}

func TestRecordLeavesOutWhatRedisAlreadyHas(t *testing.T) {
	refresh := timeline.ExpiryRefresh(timeline.DefaultRetention)
	recv := func(id string) func(at time.Time) timeline.Change {
		return func(at time.Time) timeline.Change {
			ev := plain.event(id, "InteractionQueued", 0)
			return timeline.Change{Type: timeline.ChangeReceived, At: at, Event: ev, Verdict: eventstore.VerdictNew}
		}
	}
	dispatch := func(id string) func(at time.Time) timeline.Change {
		return func(at time.Time) timeline.Change {
			return timeline.Change{Type: timeline.ChangeDispatched, At: at, Event: plain.event(id, "InteractionQueued", 0), Dispatcher: "d1"}
		}
	}
	type step struct {
		at     time.Duration // since the first step
		change func(at time.Time) timeline.Change
		want   []string // PEXPIRE, ZREMRANGEBYSCORE and HSETNX sent, sorted
	}
	const (
		sum, hist = "{acme:int-plain}:i", "{acme:int-plain}:h"
		ixAll     = "ix:{acme:all}"
		evAll     = "ev:{acme:all}"
	)
	firstWrite := []string{
		"hsetnx " + sum + " first", "hsetnx " + sum + " s:k-1", "hsetnx " + sum + " tr",
		"pexpire " + evAll, "pexpire " + ixAll, "pexpire " + hist, "pexpire " + sum,
		"zremrangebyscore " + evAll, "zremrangebyscore " + ixAll,
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a_change_within_the_refresh_interval_sends_no_pexpire", []step{
			{0, recv("k-1"), firstWrite},
			{refresh - time.Millisecond, dispatch("k-1"), nil},
		}},
		{"a_change_a_refresh_interval_later_sets_the_ttls_again", []step{
			{0, recv("k-1"), firstWrite},
			{refresh, dispatch("k-1"), []string{"pexpire " + hist, "pexpire " + sum}},
		}},
		{"an_index_is_trimmed_at_most_once_per_trim_interval", []step{
			{0, recv("k-1"), firstWrite},
			{timeline.TrimInterval - time.Millisecond, recv("k-2"), []string{"hsetnx " + sum + " s:k-2"}},
			// A trim comes with a PEXPIRE: its answer says whether the trim left the key.
			{timeline.TrimInterval, recv("k-3"), []string{"hsetnx " + sum + " s:k-3", "pexpire " + evAll, "pexpire " + ixAll,
				"zremrangebyscore " + evAll, "zremrangebyscore " + ixAll}},
		}},
		{"fields_that_keep_their_first_value_are_written_once_per_refresh_interval", []step{
			{0, recv("k-1"), firstWrite},
			{time.Minute, recv("k-2"), []string{"hsetnx " + sum + " s:k-2", "pexpire " + evAll, "pexpire " + ixAll,
				"zremrangebyscore " + evAll, "zremrangebyscore " + ixAll}},
			{time.Minute + refresh, recv("k-3"), []string{
				"hsetnx " + sum + " first", "hsetnx " + sum + " s:k-3", "hsetnx " + sum + " tr",
				"pexpire " + evAll, "pexpire " + ixAll, "pexpire " + hist, "pexpire " + sum,
				"zremrangebyscore " + evAll, "zremrangebyscore " + ixAll}},
		}},
	}
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s, log, advance := clockedStore(t, startClient(t, b), "memo", base)
					var done time.Duration
					for i, st := range tc.steps {
						advance(st.at - done)
						done = st.at
						record(t, s, st.change(base.Add(st.at)))
						if got := log.take("pexpire", "zremrangebyscore", "hsetnx"); !slices.Equal(got, st.want) {
							t.Fatalf("step %d sent\n  %v\nwant\n  %v", i, got, st.want)
						}
					}
				})
			}
		})
	}
}

func TestAFailedWriteForgetsWhatRedisHad(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer rdb.Close()
	s, log, advance := clockedStore(t, rdb, "failing", base)
	ev := plain.event("k-1", "InteractionQueued", 0)
	record(t, s, received(ev, eventstore.VerdictNew))
	m.SetError("LOADING Redis is loading the dataset in memory")
	if err := s.Record(context.Background(), []timeline.Change{{Type: timeline.ChangeDispatched, At: base, Event: ev}}); err == nil {
		t.Fatal("the write did not fail")
	}
	m.SetError("")
	log.take()
	advance(time.Second)
	record(t, s, timeline.Change{Type: timeline.ChangeDelivered, At: base.Add(time.Second), Event: ev})
	if got := log.take("pexpire"); len(got) != 2 {
		t.Fatalf("after a failed write the TTLs were not set again: %v", got)
	}
}

// TestKeysLiveTheRetentionAfterTheirLastWrite writes an interaction at
// times that set or leave out the TTLs, then moves the server's clock:
// each key must outlive its last write by the retention, and be gone once
// the longest TTL since has passed.
func TestKeysLiveTheRetentionAfterTheirLastWrite(t *testing.T) {
	refresh := timeline.ExpiryRefresh(timeline.DefaultRetention)
	cases := []struct {
		name    string
		offsets []time.Duration // the changes' times, since the first
	}{
		{"one_write", []time.Duration{0}},
		{"a_second_write_just_within_the_refresh", []time.Duration{0, refresh - time.Millisecond}},
		{"writes_spaced_just_under_the_refresh", []time.Duration{0, refresh - time.Second, 2*refresh - 2*time.Second, 3*refresh - 3*time.Second}},
		{"a_second_write_at_the_refresh", []time.Duration{0, refresh}},
		{"many_writes_close_together", []time.Duration{0, time.Second, 2 * time.Second, time.Minute, 2 * time.Minute, refresh + time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
			defer rdb.Close()
			s, log, advance := clockedStore(t, rdb, "life", base)
			ev := alice.event("k-0", "InteractionCreated", 0)
			lastWrite := map[string]time.Duration{}
			var now time.Duration
			for i, at := range tc.offsets {
				advance(at - now)
				m.FastForward(at - now)
				now = at
				c := timeline.Change{Type: timeline.ChangeDispatched, At: base.Add(at), Event: ev}
				if i%2 == 0 { // a new event: the indexes are written too
					ev = alice.event(fmt.Sprint("k-", i), "InteractionQueued", at)
					c = received(ev, eventstore.VerdictNew)
				}
				record(t, s, c)
				for _, cmd := range log.take("set", "hset", "hsetnx", "hincrby", "xadd", "zadd") {
					lastWrite[strings.Fields(cmd)[1]] = at
				}
			}
			// Visit the keys by last write; check each one retention later.
			keys := make([]string, 0, len(lastWrite))
			for k := range lastWrite {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return lastWrite[keys[i]] < lastWrite[keys[j]] })
			for _, k := range keys {
				if due := lastWrite[k] + timeline.DefaultRetention - time.Second; due > now {
					m.FastForward(due - now)
					now = due
				}
				if !m.Exists("life:tl:" + k) {
					t.Fatalf("%s expired before the retention after its last write (%v)", k, lastWrite[k])
				}
			}
			m.FastForward(tc.offsets[len(tc.offsets)-1] + timeline.KeyTTL(timeline.DefaultRetention) + time.Second - now)
			if left := m.Keys(); len(left) != 0 {
				t.Fatalf("left after the longest TTL: %v", left)
			}
		})
	}
}

// TestABatchLeavesWhatItsChangesOneByOneLeave writes the same changes
// once in one batch and once a change per batch, and compares what the
// query API answers and what watchers were told.
func TestABatchLeavesWhatItsChangesOneByOneLeave(t *testing.T) {
	created, queued := alice.event("k-1", "InteractionCreated", 0), alice.event("k-2", "InteractionQueued", time.Second)
	lateQueue := call{id: alice.id, phone: alice.phone, queue: 777, agent: "agent-2"}.event("k-3", "InteractionAssigned", 2*time.Second)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	cases := []struct {
		name    string
		changes []timeline.Change
	}{
		{"received_dispatched_retried_and_delivered", []timeline.Change{
			received(created, eventstore.VerdictNew),
			{Type: timeline.ChangeDispatched, At: at(1), Event: created, Dispatcher: "d1"},
			{Type: timeline.ChangeRetrying, At: at(2), Event: created, RegalStatus: 503, Attempts: 2, Reason: "regal 503", Dispatcher: "d1"},
			{Type: timeline.ChangeDispatched, At: at(3), Event: created, Dispatcher: "d2", Redelivery: 1},
			{Type: timeline.ChangeDelivered, At: at(4), Event: created, RegalStatus: 200, Attempts: 1},
		}},
		{"a_settlement_before_its_admission", []timeline.Change{
			{Type: timeline.ChangeSkipped, At: at(1), Event: created, Reason: "unmapped_event"},
			received(created, eventstore.VerdictNew),
		}},
		{"sightings_and_duplicates", []timeline.Change{
			received(created, eventstore.VerdictNew),
			received(created, eventstore.VerdictDuplicatePending),
			received(created, eventstore.VerdictDuplicate),
		}},
		{"a_duplicate_before_the_new_event", []timeline.Change{
			received(queued, eventstore.VerdictDuplicate),
			received(created, eventstore.VerdictNew),
		}},
		{"events_revealing_a_queue_and_an_agent", []timeline.Change{
			received(created, eventstore.VerdictNew),
			received(queued, eventstore.VerdictNew),
			{Type: timeline.ChangeDispatched, At: at(2), Event: created},
			received(lateQueue, eventstore.VerdictNew),
			{Type: timeline.ChangeDelivered, At: at(3), Event: queued, RegalStatus: 200, Attempts: 1},
			{Type: timeline.ChangeDelivered, At: at(3), Event: created, RegalStatus: 200, Attempts: 3},
		}},
		{"a_dead_letter_replayed_and_delivered", []timeline.Change{
			received(created, eventstore.VerdictNew),
			{Type: timeline.ChangeDeadLettered, At: at(1), Event: created, RegalStatus: 401, Attempts: 2, Reason: "regal 401"},
			{Type: timeline.ChangeReplayed, At: at(2), Event: created},
			{Type: timeline.ChangeDelivered, At: at(3), Event: created, RegalStatus: 200, Attempts: 1},
		}},
	}
	type answer struct {
		Summary   timeline.Interaction
		States    map[string]timeline.EventState
		History   map[string][]string
		Published []string
		Dead      []string
	}
	write := func(t *testing.T, s *timeline.Store, batches [][]timeline.Change) answer {
		t.Helper()
		w := s.Hub().Watch(100, nil)
		defer w.Close()
		for _, b := range batches {
			record(t, s, b...)
		}
		var a answer
		for len(w.Changes()) > 0 {
			p := <-w.Changes()
			a.Published = append(a.Published, fmt.Sprintf("%s %s sightings=%d attempts=%d dims=%v",
				p.Type, p.Event.GetDedupKey(), p.Sightings, p.TotalAttempts, p.Dims))
		}
		in, events := getInteraction(t, s, alice.id)
		a.Summary, a.States, a.History = in, map[string]timeline.EventState{}, map[string][]string{}
		a.Summary.States = nil
		for _, e := range events {
			a.States[e.ID] = e.State
			for _, h := range e.History {
				a.History[e.ID] = append(a.History[e.ID], fmt.Sprintf("%+v", h))
			}
		}
		a.Dead = listIDs(t, s, timeline.Query{Status: timeline.HasDeadLetters})
		return a
	}
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb := startClient(t, b)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					var oneByOne [][]timeline.Change
					for _, c := range tc.changes {
						oneByOne = append(oneByOne, []timeline.Change{c})
					}
					want := write(t, newStore(t, rdb, "single-"+tc.name), oneByOne)
					got := write(t, newStore(t, rdb, "batch-"+tc.name), [][]timeline.Change{tc.changes})
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("in one batch:\n  %+v\none by one:\n  %+v", got, want)
					}
				})
			}
		})
	}
}

// TestListingsSkipIndexMembersPastRetention moves the store's clock past
// an interaction's retention without a write that would trim the indexes:
// listings must not show it although its index members are still there.
func TestListingsSkipIndexMembersPastRetention(t *testing.T) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb := startClient(t, b)
			s, _, advance := clockedStore(t, rdb, "past", base)
			old := plain.event("k-old", "InteractionCreated", 0)
			record(t, s, received(old, eventstore.VerdictNew),
				timeline.Change{Type: timeline.ChangeDeadLettered, At: base, Event: old, RegalStatus: 400, Attempts: 1, Reason: "bad"})
			advance(timeline.DefaultRetention - time.Minute)
			fresh := call{id: "int-fresh"}.event("k-fresh", "InteractionCreated", timeline.DefaultRetention-time.Minute)
			record(t, s, received(fresh, eventstore.VerdictNew)) // trims nothing yet: k-old is within retention
			advance(time.Minute + time.Millisecond)
			for _, q := range []timeline.Query{{}, {Status: timeline.HasDeadLetters}} {
				if got := listIDs(t, s, q); slices.Contains(got, plain.id) {
					t.Fatalf("query %+v lists %v, past retention", q, got)
				}
			}
			if got := listEventIDs(t, s, timeline.Query{}, 10, false); !slices.Equal(got, []string{"k-fresh"}) {
				t.Fatalf("events %v, want [k-fresh]", got)
			}
			members, err := rdb.ZRange(context.Background(), "past:tl:ix:{acme:all}", 0, -1).Result()
			if err != nil || !slices.Contains(members, plain.id) {
				t.Fatalf("the index was trimmed (%v, %v): the case tests nothing", members, err)
			}
		})
	}
}

// TestAnEmptiedIndexGetsItsTTLAgain empties an index (a trim, a replay
// leaving no dead letter) and writes it again within the refresh
// interval: Redis removed the key with its last member, so the new key
// needs its TTL although the store set one lately.
func TestAnEmptiedIndexGetsItsTTLAgain(t *testing.T) {
	retention := timeline.DefaultRetention
	ev := plain.event("k-1", "InteractionCreated", 0)
	type batch struct {
		at      time.Duration // store clock, since base
		changes []timeline.Change
	}
	cases := []struct {
		name    string
		batches []batch
	}{
		{"the_first_trim_removed_every_member", []batch{
			{0, []timeline.Change{received(plain.event("k-old", "InteractionCreated", -retention-time.Hour), eventstore.VerdictNew)}},
			{time.Second, []timeline.Change{received(ev, eventstore.VerdictNew)}},
		}},
		{"a_later_trim_removed_every_member", []batch{
			// Within retention when written, past it at the next trim.
			{0, []timeline.Change{received(plain.event("k-aging", "InteractionCreated", -retention+30*time.Second), eventstore.VerdictNew)}},
			{timeline.TrimInterval, []timeline.Change{received(plain.event("k-old", "InteractionCreated", -retention-time.Hour), eventstore.VerdictNew)}},
			{timeline.TrimInterval + time.Second, []timeline.Change{received(plain.event("k-1", "InteractionCreated", timeline.TrimInterval), eventstore.VerdictNew)}},
		}},
		{"a_replay_left_no_dead_letter", []batch{
			{0, []timeline.Change{received(ev, eventstore.VerdictNew), {Type: timeline.ChangeDeadLettered, At: base, Event: ev, Reason: "bad"}}},
			{time.Second, []timeline.Change{{Type: timeline.ChangeReplayed, At: base.Add(time.Second), Event: ev}}},
			{2 * time.Second, []timeline.Change{{Type: timeline.ChangeDeadLettered, At: base.Add(2 * time.Second), Event: ev, Reason: "bad again"}}},
		}},
	}
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rdb := startClient(t, b)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s, _, advance := clockedStore(t, rdb, "emptied-"+tc.name, base)
					var now time.Duration
					for _, batch := range tc.batches {
						advance(batch.at - now)
						now = batch.at
						record(t, s, batch.changes...)
					}
					ctx := context.Background()
					keys, err := redistest.Keys(ctx, rdb, "emptied-"+tc.name+":*")
					if err != nil || len(keys) == 0 {
						t.Fatalf("keys %v %v", keys, err)
					}
					for _, k := range keys {
						if ttl, err := rdb.PTTL(ctx, k).Result(); err != nil || ttl <= 0 {
							t.Fatalf("key %s has TTL %v (%v)", k, ttl, err)
						}
					}
				})
			}
		})
	}
}
