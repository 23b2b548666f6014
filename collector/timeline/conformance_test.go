package timeline_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestStoreConformance runs every behaviour the query service relies on
// against each Redis implementation.
func TestStoreConformance(t *testing.T) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			// One server serves every case; cases are kept apart by key
			// prefix.
			srv := b.Start(t, redistest.Options{})
			rdb := srv.Client(t)
			for _, tc := range storeCases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStore(t, rdb, "test-"+tc.name), rdb, srv)
				})
			}
		})
	}
}

var alice = call{id: "int-alice", phone: "+12015550111", campaign: 61, queue: 110, agent: "agent-1"}

var storeCases = []struct {
	name string
	run  func(t *testing.T, s *timeline.Store, rdb redis.UniversalClient, srv *redistest.Instance)
}{
	{"timeline_shows_each_event_with_state_attempts_status_and_history", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		created, queued := alice.event("k-created", "InteractionCreated", 0), alice.event("k-queued", "InteractionQueued", time.Second)
		record(t, s, received(created, eventstore.VerdictNew), received(queued, eventstore.VerdictNew))
		record(t, s,
			timeline.Change{Type: timeline.ChangeDispatched, At: base.Add(2 * time.Second), Event: created, Dispatcher: "dispatcher-1"},
			settled(created, timeline.ChangeDelivered, 3*time.Second, 200, 1, ""))
		in, events := getInteraction(t, s, alice.id)
		if in.Phone != "+12015550111" || in.CampaignID != 61 || in.QueueID != 110 || !slices.Equal(in.Agents, []string{"agent-1"}) ||
			in.CampaignName != "Campaign 61" || in.LastEventType != "InteractionQueued" || in.TraceID != "0af7651916cd43dd8448eb211c80319c" {
			t.Fatalf("summary: %+v", in)
		}
		if !in.First.Equal(base) || !in.Last.Equal(base.Add(time.Second)) {
			t.Fatalf("first %v last %v, want %v and %v", in.First, in.Last, base, base.Add(time.Second))
		}
		if in.Counts != (timeline.Counts{Events: 2, Delivered: 1, Pending: 1}) {
			t.Fatalf("counts: %+v", in.Counts)
		}
		if len(events) != 2 || events[0].ID != "k-created" || events[1].ID != "k-queued" {
			t.Fatalf("timeline order: %v", events)
		}
		c := events[0]
		if c.State.State != timeline.StateDelivered || c.State.RegalStatus != 200 || c.State.Attempts != 1 || c.State.Sightings != 1 ||
			!c.State.At.Equal(base.Add(3*time.Second)) {
			t.Fatalf("created state: %+v", c.State)
		}
		if got := historyTypes(c); !slices.Equal(got, []string{"received", "dispatched", "delivered"}) {
			t.Fatalf("created history: %v", got)
		}
		if c.History[1].Dispatcher != "dispatcher-1" || c.History[0].Verdict != eventstore.VerdictNew {
			t.Fatalf("history details: %+v", c.History)
		}
		if !bytes.Equal(c.Event.GetRaw(), created.GetRaw()) || c.Event.GetEventType() != "InteractionCreated" || c.RawTruncated {
			t.Fatalf("stored event: %v truncated=%v", c.Event, c.RawTruncated)
		}
		if events[1].State.State != timeline.StatePending {
			t.Fatalf("queued state: %+v", events[1].State)
		}
	}},
	{"duplicates_are_counted_with_their_verdicts_and_do_not_bump_the_interaction", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		first := alice.event("k-1", "InteractionCreated", 0)
		replay := alice.event("k-1", "InteractionCreated", time.Hour/2) // same event, seen again later
		record(t, s, received(first, eventstore.VerdictNew))
		record(t, s, received(replay, eventstore.VerdictDuplicatePending), received(replay, eventstore.VerdictDuplicate))
		in, events := getInteraction(t, s, alice.id)
		st := stateOf(t, events, "k-1")
		if st.Sightings != 3 || !st.LastDuplicate.Equal(base.Add(time.Hour/2)) || in.Counts.Duplicates != 2 || in.Counts.Events != 1 {
			t.Fatalf("state %+v, counts %+v", st, in.Counts)
		}
		if !in.Last.Equal(base) {
			t.Fatalf("a duplicate moved update time to %v", in.Last)
		}
		var verdicts []eventstore.Verdict
		for _, h := range events[0].History {
			verdicts = append(verdicts, h.Verdict)
		}
		if !slices.Equal(verdicts, []eventstore.Verdict{eventstore.VerdictNew, eventstore.VerdictDuplicatePending, eventstore.VerdictDuplicate}) {
			t.Fatalf("verdicts %v", verdicts)
		}
	}},
	{"a_settlement_written_before_its_admission_keeps_the_settled_state", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ev := alice.event("k-1", "InteractionCreated", 0)
		record(t, s, settled(ev, timeline.ChangeSkipped, time.Second, 0, 0, "unmapped_event"))
		record(t, s, received(ev, eventstore.VerdictNew))
		_, events := getInteraction(t, s, alice.id)
		if st := stateOf(t, events, "k-1"); st.State != timeline.StateSkipped || st.Reason != "unmapped_event" {
			t.Fatalf("state %+v", st)
		}
	}},
	{"dead_letter_then_replay_then_delivery", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		ev := alice.event("k-1", "InteractionCreated", 0)
		record(t, s, received(ev, eventstore.VerdictNew),
			settled(ev, timeline.ChangeRetrying, time.Second, 503, 2, "regal 503"),
			settled(ev, timeline.ChangeDeadLettered, 2*time.Second, 401, 1, "regal 401: invalid key"))
		_, events := getInteraction(t, s, alice.id)
		if st := stateOf(t, events, "k-1"); st.State != timeline.StateDeadLettered || st.Attempts != 3 || st.RegalStatus != 401 || st.Reason != "regal 401: invalid key" {
			t.Fatalf("dead state %+v", st)
		}
		dead := listIDs(t, s, timeline.Query{Status: timeline.HasDeadLetters})
		if !slices.Equal(dead, []string{alice.id}) {
			t.Fatalf("dead-letter listing %v", dead)
		}
		record(t, s, timeline.Change{Type: timeline.ChangeReplayed, At: base.Add(3 * time.Second), Event: ev})
		if dead := listIDs(t, s, timeline.Query{Status: timeline.HasDeadLetters}); len(dead) != 0 {
			t.Fatalf("still listed as dead-lettered after replay: %v", dead)
		}
		if unsettled := listIDs(t, s, timeline.Query{Status: timeline.HasUnsettled}); !slices.Equal(unsettled, []string{alice.id}) {
			t.Fatalf("unsettled listing %v", unsettled)
		}
		record(t, s, settled(ev, timeline.ChangeDelivered, 4*time.Second, 200, 1, ""))
		e, err := s.Event(ctx, tenant, "k-1")
		if err != nil {
			t.Fatal(err)
		}
		if e.State.State != timeline.StateDelivered || e.State.Replays != 1 || e.State.Attempts != 4 || e.State.RegalStatus != 200 {
			t.Fatalf("after replay: %+v", e.State)
		}
		if got := historyTypes(e); !slices.Equal(got, []string{"received", "retrying", "dead_lettered", "replayed", "delivered"}) {
			t.Fatalf("history %v", got)
		}
	}},
	{"raw_payload_and_normalized_event_are_capped", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ev := alice.event("k-big", "InteractionCreated", 0)
		ev.Raw = bytes.Repeat([]byte("x"), 40<<10)
		ev.AttachedData = map[string]string{"note": strings.Repeat("y", 40<<10)}
		record(t, s, received(ev, eventstore.VerdictNew))
		_, events := getInteraction(t, s, alice.id)
		e := events[0]
		if len(e.Event.GetRaw()) != timeline.DefaultRawMaxBytes || !e.RawTruncated || e.Event.GetAttachedData() != nil {
			t.Fatalf("raw %d bytes, truncated %v, attached %d bytes", len(e.Event.GetRaw()), e.RawTruncated, len(e.Event.GetAttachedData()["note"]))
		}
		if e.Event.GetEventType() != "InteractionCreated" || e.Event.GetInteraction().GetCustomerPhone() != alice.phone {
			t.Fatalf("capping lost the event's fields: %v", e.Event)
		}
	}},
	{"agent_events_are_not_kept", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		agent := &eventv1.Event{Tenant: tenant, Family: "AgentStatusChange", EventType: "AgentStatusChange", DedupKey: "k-agent", OrderKey: "agent:a1"}
		record(t, s, timeline.Change{Type: timeline.ChangeReceived, At: base, Event: agent, Verdict: eventstore.VerdictNew})
		if events, _, err := s.ListEvents(context.Background(), tenant, timeline.Query{}, timeline.Page{Size: 10}); err != nil || len(events) != 0 {
			t.Fatalf("agent event listed: %v %v", events, err)
		}
	}},
	{"an_event_lacking_a_field_is_indexed_under_its_interactions_value", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		created := alice.event("k-1", "InteractionCreated", 0)
		deleted := call{id: alice.id}.event("k-2", "InteractionDeleted", time.Second) // no phone, campaign, queue, agent
		record(t, s, received(created, eventstore.VerdictNew), received(deleted, eventstore.VerdictNew))
		for _, q := range []timeline.Query{{Phone: alice.phone}, {CampaignID: alice.campaign}, {QueueID: alice.queue}, {AgentID: alice.agent}} {
			events, _, err := s.ListEvents(context.Background(), tenant, q, timeline.Page{Size: 10})
			if err != nil || len(events) != 2 {
				t.Fatalf("query %+v: %d events, %v", q, len(events), err)
			}
		}
	}},
	{"events_before_the_interaction_revealed_a_value_are_found_by_it", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		created := call{id: alice.id, phone: alice.phone}.event("k-1", "InteractionCreated", 0) // no queue, no agent yet
		queued := call{id: alice.id, phone: alice.phone, queue: 591}.event("k-2", "InteractionQueued", time.Second)
		assigned := call{id: alice.id, phone: alice.phone, queue: 591, agent: "ag-9"}.event("k-3", "InteractionAssigned", 2*time.Second)
		record(t, s, received(created, eventstore.VerdictNew), received(queued, eventstore.VerdictNew))
		record(t, s, received(assigned, eventstore.VerdictNew))
		for _, q := range []timeline.Query{{QueueID: 591}, {AgentID: "ag-9"}, {QueueID: 591, AgentID: "ag-9", Phone: alice.phone}} {
			events, _, err := s.ListEvents(context.Background(), tenant, q, timeline.Page{Size: 10})
			if err != nil || len(events) != 3 || events[0].ID != "k-3" || events[2].ID != "k-1" {
				t.Fatalf("query %+v: %d events, %v", q, len(events), err)
			}
		}
	}},
	{"unknown_interaction_and_event_are_not_found", func(t *testing.T, s *timeline.Store, _ redis.UniversalClient, _ *redistest.Instance) {
		if _, _, err := s.Interaction(context.Background(), tenant, "int-unknown"); !errors.Is(err, timeline.ErrNotFound) {
			t.Fatalf("interaction: %v", err)
		}
		if _, err := s.Event(context.Background(), tenant, "k-unknown"); !errors.Is(err, timeline.ErrNotFound) {
			t.Fatalf("event: %v", err)
		}
	}},
	{"every_key_expires_after_the_retention_window", func(t *testing.T, s *timeline.Store, rdb redis.UniversalClient, srv *redistest.Instance) {
		ctx := context.Background()
		ev := alice.event("k-1", "InteractionCreated", 0)
		record(t, s, received(ev, eventstore.VerdictNew), settled(ev, timeline.ChangeDeadLettered, time.Second, 400, 1, "bad"))
		keys, err := redistest.Keys(ctx, rdb, "test-every_key_expires_after_the_retention_window:*")
		if err != nil || len(keys) < 8 {
			t.Fatalf("keys %v %v", keys, err)
		}
		// The TTL exceeds the retention by a margin that lets later writes
		// leave their PEXPIRE out.
		longest := timeline.KeyTTL(timeline.DefaultRetention)
		for _, k := range keys {
			ttl, err := rdb.PTTL(ctx, k).Result()
			if err != nil || ttl < timeline.DefaultRetention-time.Minute || ttl > longest {
				t.Fatalf("key %s has TTL %v (%v), want [%v, %v]", k, ttl, err, timeline.DefaultRetention-time.Minute, longest)
			}
		}
		if srv.FastForward != nil {
			srv.FastForward(timeline.DefaultRetention - time.Second)
			if left, _ := redistest.Keys(ctx, rdb, "test-every_key_expires_after_the_retention_window:*"); len(left) != len(keys) {
				t.Fatalf("within retention only %v are left of %v", left, keys)
			}
			srv.FastForward(longest - timeline.DefaultRetention + time.Second)
			if left, _ := redistest.Keys(ctx, rdb, "test-every_key_expires_after_the_retention_window:*"); len(left) != 0 {
				t.Fatalf("left after retention: %v", left)
			}
		}
	}},
	{"index_members_older_than_retention_are_trimmed_on_write", func(t *testing.T, s *timeline.Store, rdb redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		old := call{id: "int-old", phone: alice.phone}.event("k-old", "InteractionCreated", -8*24*time.Hour)
		record(t, s, received(old, eventstore.VerdictNew))
		record(t, s, received(alice.event("k-new", "InteractionCreated", 0), eventstore.VerdictNew))
		members, err := rdb.ZRange(ctx, "test-index_members_older_than_retention_are_trimmed_on_write:tl:ix:{acme:all}", 0, -1).Result()
		if err != nil || !slices.Equal(members, []string{alice.id}) {
			t.Fatalf("index members %v %v", members, err)
		}
	}},
}

// listIDs lists every interaction matching q, newest first.
func listIDs(t *testing.T, s *timeline.Store, q timeline.Query) []string {
	t.Helper()
	var ids []string
	page := timeline.Page{Size: 100}
	for {
		items, next, err := s.ListInteractions(context.Background(), tenant, q, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range items {
			ids = append(ids, in.ID)
		}
		if next.IsZero() {
			return ids
		}
		page.After = next
	}
}
