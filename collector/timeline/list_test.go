package timeline_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/internal/redistest"
)

// fixture calls: each interaction's event is received at base+minutes.
var (
	callA = call{id: "int-a", phone: "+12015550111", campaign: 61, queue: 110, agent: "ag1"}
	callB = call{id: "int-b", phone: "+12015550111", campaign: 62, queue: 111, agent: "ag2"}
	callC = call{id: "int-c", phone: "+12015550122", campaign: 61, queue: 110, agent: "ag2"}
	callD = call{id: "int-d", phone: "(201) 555-0133", queue: 591, agent: "ag1"}
	callE = call{id: "int-e", phone: "+12015550111", campaign: 61, queue: 110, agent: "ag1"}
)

// loadFixture stores five interactions: A delivered, B dead-lettered, C
// pending, D skipped (its phone in national form), E older and delivered.
func loadFixture(t *testing.T, s *timeline.Store) {
	t.Helper()
	type step struct {
		c       call
		minutes int
		outcome timeline.ChangeType
	}
	for _, st := range []step{
		{callE, -120, timeline.ChangeDelivered},
		{callA, 1, timeline.ChangeDelivered},
		{callB, 2, timeline.ChangeDeadLettered},
		{callC, 3, 0},
		{callD, 4, timeline.ChangeSkipped},
	} {
		ev := st.c.event("k-"+st.c.id, "InteractionCreated", time.Duration(st.minutes)*time.Minute)
		record(t, s, received(ev, eventstore.VerdictNew))
		if st.outcome != 0 {
			record(t, s, settled(ev, st.outcome, time.Duration(st.minutes)*time.Minute+time.Second, 200, 1, ""))
		}
	}
}

func TestListFiltersConformance(t *testing.T) {
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	interactionCases := []struct {
		name string
		q    timeline.Query
		want []string
	}{
		{"no_filter_lists_all_newest_first", timeline.Query{}, []string{"int-d", "int-c", "int-b", "int-a", "int-e"}},
		{"phone", timeline.Query{Phone: "+12015550111"}, []string{"int-b", "int-a", "int-e"}},
		{"phone_received_in_national_form_is_found_in_e164", timeline.Query{Phone: "+12015550133"}, []string{"int-d"}},
		{"unknown_phone", timeline.Query{Phone: "+12015550199"}, nil},
		{"campaign", timeline.Query{CampaignID: 61}, []string{"int-c", "int-a", "int-e"}},
		{"queue", timeline.Query{QueueID: 111}, []string{"int-b"}},
		{"agent", timeline.Query{AgentID: "ag2"}, []string{"int-c", "int-b"}},
		{"time_range_start_inclusive_end_exclusive", timeline.Query{Start: at(2), End: at(4)}, []string{"int-c", "int-b"}},
		{"start_only", timeline.Query{Start: at(3)}, []string{"int-d", "int-c"}},
		{"end_only", timeline.Query{End: at(1)}, []string{"int-e"}},
		{"has_dead_letters", timeline.Query{Status: timeline.HasDeadLetters}, []string{"int-b"}},
		{"has_unsettled", timeline.Query{Status: timeline.HasUnsettled}, []string{"int-c"}},
		{"phone_and_campaign", timeline.Query{Phone: "+12015550111", CampaignID: 61}, []string{"int-a", "int-e"}},
		{"phone_and_dead_letters", timeline.Query{Phone: "+12015550111", Status: timeline.HasDeadLetters}, []string{"int-b"}},
		{"campaign_and_agent", timeline.Query{CampaignID: 61, AgentID: "ag2"}, []string{"int-c"}},
		{"dead_letters_in_a_time_range", timeline.Query{Status: timeline.HasDeadLetters, Start: at(0), End: at(10)}, []string{"int-b"}},
		{"dead_letters_outside_the_time_range", timeline.Query{Status: timeline.HasDeadLetters, Start: at(3)}, nil},
		{"campaign_and_time_range", timeline.Query{CampaignID: 61, Start: at(0)}, []string{"int-c", "int-a"}},
	}
	eventCases := []struct {
		name string
		q    timeline.Query
		want []string
	}{
		{"no_filter", timeline.Query{}, []string{"k-int-d", "k-int-c", "k-int-b", "k-int-a", "k-int-e"}},
		{"phone", timeline.Query{Phone: "+12015550111"}, []string{"k-int-b", "k-int-a", "k-int-e"}},
		{"campaign_and_queue", timeline.Query{CampaignID: 61, QueueID: 110}, []string{"k-int-c", "k-int-a", "k-int-e"}},
		{"agent_and_time", timeline.Query{AgentID: "ag1", Start: at(0)}, []string{"k-int-d", "k-int-a"}},
		{"state_delivered", timeline.Query{State: timeline.StateDelivered}, []string{"k-int-a", "k-int-e"}},
		{"state_dead_lettered", timeline.Query{State: timeline.StateDeadLettered}, []string{"k-int-b"}},
		{"state_pending_and_campaign", timeline.Query{State: timeline.StatePending, CampaignID: 61}, []string{"k-int-c"}},
		{"state_skipped", timeline.Query{State: timeline.StateSkipped}, []string{"k-int-d"}},
	}
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newStore(t, startClient(t, b), "filters")
			loadFixture(t, s)
			for _, tc := range interactionCases {
				t.Run("interactions_"+tc.name, func(t *testing.T) {
					if got := listIDs(t, s, tc.q); !slices.Equal(got, tc.want) {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				})
			}
			for _, tc := range eventCases {
				t.Run("events_"+tc.name, func(t *testing.T) {
					if got := listEventIDs(t, s, tc.q, 100, false); !slices.Equal(got, tc.want) {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				})
			}
		})
	}
}

func TestPaginationConformance(t *testing.T) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newStore(t, startClient(t, b), "pages")
			// 130 interactions; 65 of them received in the same millisecond,
			// so pages must be exact inside a group of equal scores.
			var changes []timeline.Change
			var want []string
			for i := range 130 {
				c := call{id: fmt.Sprintf("int-%03d", i), phone: "+12015550111"}
				offset := time.Duration(i) * time.Millisecond
				if i < 65 {
					offset = 0
				}
				changes = append(changes, received(c.event(fmt.Sprintf("k-%03d", i), "InteractionCreated", offset), eventstore.VerdictNew))
				want = append(want, c.id)
			}
			record(t, s, changes...)
			for _, size := range []int{1, 7, 64, 65, 200} {
				t.Run(fmt.Sprintf("interactions_page_size_%d", size), func(t *testing.T) {
					got := listAll(t, s, timeline.Query{Phone: "+12015550111"}, size)
					if len(got) != len(want) || !sameSet(got, want) {
						t.Fatalf("got %d interactions (%d distinct), want %d", len(got), len(distinct(got)), len(want))
					}
				})
				t.Run(fmt.Sprintf("events_oldest_first_page_size_%d", size), func(t *testing.T) {
					got := listEventIDs(t, s, timeline.Query{}, size, true)
					if len(got) != 130 || len(distinct(got)) != 130 || got[129] != "k-129" {
						t.Fatalf("got %d events (%d distinct), last %q", len(got), len(distinct(got)), got[len(got)-1])
					}
				})
			}
		})
	}
}

func TestScanBudgetBoundsOneCallAndTheCursorContinues(t *testing.T) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newStore(t, startClient(t, b), "budget")
			timeline.SetScanBudget(s, 250)
			var changes []timeline.Change
			for i := range 300 {
				c := call{id: fmt.Sprintf("int-%04d", i)}
				ev := c.event(fmt.Sprintf("k-%04d", i), "InteractionCreated", time.Duration(i)*time.Millisecond)
				changes = append(changes, received(ev, eventstore.VerdictNew))
				if i > 0 { // only the oldest stays unsettled
					changes = append(changes, settled(ev, timeline.ChangeDelivered, time.Hour, 200, 1, ""))
				}
			}
			record(t, s, changes...)
			q := timeline.Query{Status: timeline.HasUnsettled}
			first, next, err := s.ListInteractions(context.Background(), tenant, q, timeline.Page{Size: 10})
			if err != nil || len(first) != 0 || next.IsZero() {
				t.Fatalf("first call: %d items, next %+v, %v; want an empty page with a cursor", len(first), next, err)
			}
			second, next, err := s.ListInteractions(context.Background(), tenant, q, timeline.Page{Size: 10, After: next})
			if err != nil || len(second) != 1 || second[0].ID != "int-0000" || !next.IsZero() {
				t.Fatalf("second call: %v, next %+v, %v", second, next, err)
			}
		})
	}
}

func listAll(t *testing.T, s *timeline.Store, q timeline.Query, size int) []string {
	t.Helper()
	var ids []string
	page := timeline.Page{Size: size}
	for range 1000 {
		items, next, err := s.ListInteractions(context.Background(), tenant, q, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > size {
			t.Fatalf("page of %d for size %d", len(items), size)
		}
		for _, in := range items {
			ids = append(ids, in.ID)
		}
		if next.IsZero() {
			return ids
		}
		page.After = next
	}
	t.Fatal("pagination does not end")
	return nil
}

func listEventIDs(t *testing.T, s *timeline.Store, q timeline.Query, size int, oldestFirst bool) []string {
	t.Helper()
	var ids []string
	page := timeline.Page{Size: size, OldestFirst: oldestFirst}
	for range 1000 {
		items, next, err := s.ListEvents(context.Background(), tenant, q, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range items {
			ids = append(ids, e.ID)
		}
		if next.IsZero() {
			return ids
		}
		page.After = next
	}
	t.Fatal("pagination does not end")
	return nil
}

func distinct(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func sameSet(a, b []string) bool {
	da, db := distinct(a), distinct(b)
	if len(da) != len(db) {
		return false
	}
	for k := range da {
		if !db[k] {
			return false
		}
	}
	return true
}
