package query_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/poll"
)

// settledDay publishes the script through the harness with Regal refusing
// its first three requests (400 naming what is wrong: dead-lettered) and
// waits until every event is settled.
func settledDay(t *testing.T) (*harness, day) {
	t.Helper()
	h := startHarness(t, harnessOptions{Dispatch: true})
	d := newDay(14)
	refused := regaldouble.Fault{Status: 400, Message: "properties.queue_name: value refused"}
	h.regal.SetFaults(refused, refused, refused)
	h.publish(t, d.lines())
	poll.Until(t, "every event recorded and settled", func() bool {
		resp, err := h.client.ListInteractions(callCtx(t), &queryv1.ListInteractionsRequest{Parent: "tenants/" + tenant, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		settled := 0
		for _, in := range resp.GetInteractions() {
			c := in.GetCounts()
			if int(c.GetEvents()) == len(d.call(in.GetInteractionId()).events) && c.GetPending()+c.GetInDelivery()+c.GetRetrying() == 0 {
				settled++
			}
		}
		return settled == len(d.calls)
	})
	return h, d
}

func TestQueryRPCsOverGRPC(t *testing.T) {
	h, d := settledDay(t)
	parent := "tenants/" + tenant

	t.Run("ListTenants", func(t *testing.T) {
		resp, err := h.client.ListTenants(callCtx(t), &queryv1.ListTenantsRequest{})
		if err != nil || len(resp.GetTenants()) != 1 || resp.GetTenants()[0].GetName() != parent || resp.GetNextPageToken() != "" {
			t.Fatalf("got %v, %v", resp, err)
		}
	})

	t.Run("GetInteraction_shows_every_calls_timeline", func(t *testing.T) {
		for _, c := range d.calls {
			resp, err := h.client.GetInteraction(callCtx(t), &queryv1.GetInteractionRequest{Name: parent + "/interactions/" + c.id})
			if err != nil {
				t.Fatal(err)
			}
			checkTimeline(t, c, resp)
		}
	})

	t.Run("GetEvent_shows_one_event_with_its_history", func(t *testing.T) {
		c := d.calls[0]
		resp, err := h.client.GetEvent(callCtx(t), &queryv1.GetEventRequest{Name: parent + "/events/" + c.events[0]})
		if err != nil {
			t.Fatal(err)
		}
		e := resp.GetEvent()
		if e.GetInteraction() != parent+"/interactions/"+c.id || e.GetRaw() != string(c.lines[0].raw) ||
			len(e.GetHistory()) == 0 || e.GetHistory()[0].GetType() != queryv1.ChangeType_CHANGE_TYPE_RECEIVED {
			t.Fatalf("event %v", e)
		}
	})

	first := d.find(func(c scriptedCall) bool { return c.phone != "" })
	withAgent := d.find(func(c scriptedCall) bool { return len(c.agents) > 0 })
	campaign := d.find(func(c scriptedCall) bool { return len(c.campaigns) > 0 }).campaigns[0]
	queue := d.find(func(c scriptedCall) bool { return len(c.queues) > 0 && len(c.campaigns) == 0 }).queues[0]
	t.Run("ListInteractions_filters", func(t *testing.T) {
		inRange := func(c scriptedCall) bool { return c.slot >= 2 && c.slot < 5 }
		national := first.phone[2:5] + "-" + first.phone[5:8] + "-" + first.phone[8:] // "201-555-0123": no country code
		tests := []struct {
			name   string
			filter *queryv1.Filter
			status queryv1.InteractionStatusFilter
			want   []string
			// anyOrder: the order is by dead-letter time, which ties within
			// a millisecond here.
			anyOrder bool
		}{
			{"none", nil, 0, d.ids(func(scriptedCall) bool { return true }), false},
			{"phone_e164", &queryv1.Filter{PhoneNumber: first.phone}, 0, d.ids(func(c scriptedCall) bool { return c.phone == first.phone }), false},
			{"phone_national_form", &queryv1.Filter{PhoneNumber: national}, 0, d.ids(func(c scriptedCall) bool { return c.phone == first.phone }), false},
			{"campaign", &queryv1.Filter{CampaignId: campaign}, 0, d.ids(func(c scriptedCall) bool { return slices.Contains(c.campaigns, campaign) }), false},
			{"queue", &queryv1.Filter{QueueId: queue}, 0, d.ids(func(c scriptedCall) bool { return slices.Contains(c.queues, queue) }), false},
			{"agent", &queryv1.Filter{AgentId: withAgent.agents[0]}, 0, d.ids(func(c scriptedCall) bool { return slices.Contains(c.agents, withAgent.agents[0]) }), false},
			{"time_range", &queryv1.Filter{StartTime: ts(d.slotStart(2)), EndTime: ts(d.slotStart(5))}, 0, d.ids(inRange), false},
			{"campaign_and_time_range", &queryv1.Filter{CampaignId: campaign, StartTime: ts(d.slotStart(2)), EndTime: ts(d.slotStart(5))}, 0,
				d.ids(func(c scriptedCall) bool { return inRange(c) && slices.Contains(c.campaigns, campaign) }), false},
			{"has_dead_letters", nil, queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_DEAD_LETTERS, deadInteractions(t, h), true},
			{"has_unsettled", nil, queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_UNSETTLED, nil, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := h.client.ListInteractions(callCtx(t), &queryv1.ListInteractionsRequest{Parent: parent, Filter: tt.filter, Status: tt.status, PageSize: 100})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, in := range resp.GetInteractions() {
					got = append(got, in.GetInteractionId())
				}
				if tt.anyOrder {
					slices.Sort(got)
					slices.Sort(tt.want)
				}
				if !slices.Equal(got, tt.want) || len(tt.want) == 0 && tt.name != "has_unsettled" && tt.name != "campaign_and_time_range" {
					t.Fatalf("got %v\nwant %v", got, tt.want)
				}
			})
		}
	})

	t.Run("ListInteractions_pages", func(t *testing.T) {
		got := pageInteractions(t, h, &queryv1.ListInteractionsRequest{Parent: parent, PageSize: 3})
		if want := d.ids(func(scriptedCall) bool { return true }); !slices.Equal(got, want) {
			t.Fatalf("pages gave %v\nwant %v", got, want)
		}
	})

	t.Run("ListEvents_filters", func(t *testing.T) {
		tests := []struct {
			name   string
			filter *queryv1.Filter
			state  queryv1.DeliveryState
			want   func() []string
		}{
			{"none", nil, 0, func() []string { return d.eventIDs(func(scriptedCall) bool { return true }) }},
			{"phone", &queryv1.Filter{PhoneNumber: first.phone}, 0, func() []string {
				return d.eventIDs(func(c scriptedCall) bool { return c.phone == first.phone })
			}},
			{"queue_and_time", &queryv1.Filter{QueueId: queue, StartTime: ts(d.slotStart(3))}, 0, func() []string {
				return d.eventIDs(func(c scriptedCall) bool { return c.slot >= 3 && slices.Contains(c.queues, queue) })
			}},
			{"dead_lettered", nil, queryv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED, func() []string { return deadEvents(t, h) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := pageEvents(t, h, &queryv1.ListEventsRequest{Parent: parent, Filter: tt.filter, DeliveryState: tt.state, PageSize: 1000})
				if want := tt.want(); !slices.Equal(got, want) || len(want) == 0 {
					t.Fatalf("got %v\nwant %v", got, want)
				}
			})
		}
		skipped := pageEvents(t, h, &queryv1.ListEventsRequest{Parent: parent, DeliveryState: queryv1.DeliveryState_DELIVERY_STATE_SKIPPED, PageSize: 1000})
		delivered := pageEvents(t, h, &queryv1.ListEventsRequest{Parent: parent, DeliveryState: queryv1.DeliveryState_DELIVERY_STATE_DELIVERED, PageSize: 1000})
		all := pageEvents(t, h, &queryv1.ListEventsRequest{Parent: parent, PageSize: 1000})
		if len(delivered) != h.regal.Count() || len(skipped)+len(delivered)+len(deadEvents(t, h)) != len(all) {
			t.Fatalf("delivered %d (Regal got %d), skipped %d, dead %d, all %d", len(delivered), h.regal.Count(), len(skipped), len(deadEvents(t, h)), len(all))
		}
	})

	t.Run("ListEvents_pages", func(t *testing.T) {
		got := pageEvents(t, h, &queryv1.ListEventsRequest{Parent: parent, PageSize: 7})
		if want := d.eventIDs(func(scriptedCall) bool { return true }); !slices.Equal(got, want) {
			t.Fatalf("pages gave %d events, want %d", len(got), len(want))
		}
	})

	t.Run("ListDeadLetters_filters_and_pages", func(t *testing.T) {
		all := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent, PageSize: 2})
		if len(all) != 3 {
			t.Fatalf("%d dead letters, want 3", len(all))
		}
		for _, dl := range all {
			if dl.GetRegalStatus() != 400 || dl.GetAttempts() != 1 || !strings.Contains(dl.GetReason(), "400") ||
				dl.GetEvent().GetDelivery().GetState() != queryv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED {
				t.Fatalf("dead letter %v", dl)
			}
		}
		byEvent := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent, Event: all[1].GetEvent().GetName()})
		byInteraction := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent, Interaction: idOf(all[1].GetEvent().GetInteraction())})
		since := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent, StartTime: all[2].GetDeadLetterTime()})
		if len(byEvent) != 1 || byEvent[0].GetName() != all[1].GetName() || len(byInteraction) < 1 || len(since) < 1 ||
			since[len(since)-1].GetName() != all[2].GetName() {
			t.Fatalf("by event %d, by interaction %d, since %d", len(byEvent), len(byInteraction), len(since))
		}
	})

	t.Run("ReplayDeadLetters_validate_only_then_replay_after_Regal_recovers", func(t *testing.T) {
		dead := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent})
		target := dead[0].GetEvent()
		dry, err := h.client.ReplayDeadLetters(callCtx(t), &queryv1.ReplayDeadLettersRequest{Parent: parent,
			Selector: &queryv1.ReplayDeadLettersRequest_Event{Event: target.GetName()}, ValidateOnly: true})
		if err != nil || dry.GetMatchedCount() != 1 || dry.GetReplayedCount() != 0 || !dry.GetValidateOnly() ||
			dry.GetDeadLetters()[0].GetEvent().GetName() != target.GetName() {
			t.Fatalf("validate only: %v, %v", dry, err)
		}
		if left := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent}); len(left) != 3 {
			t.Fatalf("validate_only replayed: %d dead letters left", len(left))
		}
		watchCtx, stopWatch := context.WithCancel(context.Background())
		defer stopWatch()
		w := watch(t, watchCtx, h.client, &queryv1.WatchEventsRequest{Parent: parent,
			ChangeTypes: []queryv1.ChangeType{queryv1.ChangeType_CHANGE_TYPE_REPLAYED, queryv1.ChangeType_CHANGE_TYPE_DELIVERED}})
		// Regal has recovered: its scripted 400s are used up.
		resp, err := h.client.ReplayDeadLetters(callCtx(t), &queryv1.ReplayDeadLettersRequest{Parent: parent,
			Selector: &queryv1.ReplayDeadLettersRequest_Event{Event: target.GetName()}})
		if err != nil || resp.GetMatchedCount() != 1 || resp.GetReplayedCount() != 1 {
			t.Fatalf("replay: %v, %v", resp, err)
		}
		for _, want := range []queryv1.ChangeType{queryv1.ChangeType_CHANGE_TYPE_REPLAYED, queryv1.ChangeType_CHANGE_TYPE_DELIVERED} {
			change, err := w.Recv()
			if err != nil || change.GetChangeType() != want || change.GetEvent().GetName() != target.GetName() {
				t.Fatalf("watch sent %v, %v; want %v of %s", change, err, want, target.GetName())
			}
		}
		var e *queryv1.Event
		poll.Until(t, "the replayed event delivered", func() bool {
			got, err := h.client.GetEvent(callCtx(t), &queryv1.GetEventRequest{Name: target.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			e = got.GetEvent()
			return e.GetDelivery().GetState() == queryv1.DeliveryState_DELIVERY_STATE_DELIVERED
		})
		if e.GetDelivery().GetRegalStatus() != 200 || e.GetDelivery().GetReplays() != 1 || e.GetDelivery().GetAttempts() != 2 {
			t.Fatalf("delivery after replay: %v", e.GetDelivery())
		}
		if got := changeTypes(e.GetHistory()); !slices.Equal(got[len(got)-3:], []string{"DEAD_LETTERED", "REPLAYED", "DELIVERED"}) {
			t.Fatalf("history %v", got)
		}
		rest, err := h.client.ReplayDeadLetters(callCtx(t), &queryv1.ReplayDeadLettersRequest{Parent: parent,
			Selector: &queryv1.ReplayDeadLettersRequest_StartTime{StartTime: ts(d.base)}})
		if err != nil || rest.GetReplayedCount() != 2 {
			t.Fatalf("replay since: %v, %v", rest, err)
		}
		poll.Until(t, "no interaction with dead letters", func() bool {
			resp, err := h.client.ListInteractions(callCtx(t), &queryv1.ListInteractionsRequest{Parent: parent,
				Status: queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_DEAD_LETTERS})
			return err == nil && len(resp.GetInteractions()) == 0 && len(listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: parent})) == 0
		})
	})
}

// checkTimeline compares GetInteraction's answer with the script.
func checkTimeline(t *testing.T, c scriptedCall, resp *queryv1.GetInteractionResponse) {
	t.Helper()
	in := resp.GetInteraction()
	if in.GetPhoneNumber() != c.phone || !slices.Equal(in.GetAgentIds(), c.agents) ||
		in.GetTraceId() != fmt.Sprintf("%032x", traceOf(c.id)) || int(in.GetCounts().GetEvents()) != len(c.events) {
		t.Fatalf("interaction %s: %v", c.id, in)
	}
	if !in.GetCreateTime().AsTime().Equal(c.start) || !in.GetUpdateTime().AsTime().Equal(c.last) {
		t.Fatalf("interaction %s created %v, want %v", c.id, in.GetCreateTime().AsTime(), c.start)
	}
	var ids []string
	duplicates := 0
	for _, e := range resp.GetEvents() {
		ids = append(ids, idOf(e.GetName()))
		want := c.sightings[idOf(e.GetName())]
		duplicates += want - 1
		if int(e.GetDedup().GetSightings()) != want {
			t.Fatalf("event %s: %d sightings, want %d", e.GetName(), e.GetDedup().GetSightings(), want)
		}
		st := e.GetDelivery().GetState()
		if st != queryv1.DeliveryState_DELIVERY_STATE_DELIVERED && st != queryv1.DeliveryState_DELIVERY_STATE_SKIPPED &&
			st != queryv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED {
			t.Fatalf("event %s (%s) is %v", e.GetName(), e.GetEventType(), st)
		}
		if st == queryv1.DeliveryState_DELIVERY_STATE_DELIVERED && (e.GetDelivery().GetRegalStatus() != 200 || e.GetDelivery().GetAttempts() != 1) {
			t.Fatalf("delivered event %s: %v", e.GetName(), e.GetDelivery())
		}
		if e.GetRaw() == "" || e.GetNormalized().GetEventType() != e.GetEventType() || len(e.GetNormalized().GetRaw()) != 0 ||
			e.GetTraceId() != in.GetTraceId() || e.GetPhoneNumber() != c.phone && e.GetPhoneNumber() != "" {
			t.Fatalf("event %s fields: %v", e.GetName(), e)
		}
		h := e.GetHistory()
		if len(h) < 2 || h[0].GetType() != queryv1.ChangeType_CHANGE_TYPE_RECEIVED || h[0].GetDedupVerdict() != queryv1.DedupVerdict_DEDUP_VERDICT_NEW {
			t.Fatalf("event %s history %v", e.GetName(), changeTypes(h))
		}
	}
	if !slices.Equal(ids, c.events) || int(in.GetCounts().GetDuplicates()) != duplicates {
		t.Fatalf("interaction %s timeline %v (duplicates %d)\nwant %v (duplicates %d)", c.id, ids, in.GetCounts().GetDuplicates(), c.events, duplicates)
	}
}

func changeTypes(h []*queryv1.EventChange) []string {
	var out []string
	for _, c := range h {
		out = append(out, strings.TrimPrefix(c.GetType().String(), "CHANGE_TYPE_"))
	}
	return out
}

func idOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func pageInteractions(t *testing.T, h *harness, req *queryv1.ListInteractionsRequest) []string {
	t.Helper()
	var ids []string
	req = proto.Clone(req).(*queryv1.ListInteractionsRequest)
	for range 1000 {
		resp, err := h.client.ListInteractions(callCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetInteractions()) > int(req.GetPageSize()) {
			t.Fatalf("page of %d for page_size %d", len(resp.GetInteractions()), req.GetPageSize())
		}
		for _, in := range resp.GetInteractions() {
			ids = append(ids, in.GetInteractionId())
		}
		if resp.GetNextPageToken() == "" {
			return ids
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatal("pagination does not end")
	return nil
}

func pageEvents(t *testing.T, h *harness, req *queryv1.ListEventsRequest) []string {
	t.Helper()
	var ids []string
	req = proto.Clone(req).(*queryv1.ListEventsRequest)
	for range 1000 {
		resp, err := h.client.ListEvents(callCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetEvents() {
			ids = append(ids, idOf(e.GetName()))
		}
		if resp.GetNextPageToken() == "" {
			return ids
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatal("pagination does not end")
	return nil
}

func listDeadLetters(t *testing.T, h *harness, req *queryv1.ListDeadLettersRequest) []*queryv1.DeadLetter {
	t.Helper()
	var out []*queryv1.DeadLetter
	req = proto.Clone(req).(*queryv1.ListDeadLettersRequest)
	for range 100 {
		resp, err := h.client.ListDeadLetters(callCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resp.GetDeadLetters()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatal("pagination does not end")
	return nil
}

// deadInteractions are the interactions with a dead letter, most recently
// dead-lettered first, from the event store (not the timeline).
func deadInteractions(t *testing.T, h *harness) []string {
	t.Helper()
	var out []string
	dls := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: "tenants/" + tenant})
	slices.Reverse(dls)
	for _, dl := range dls {
		if id := idOf(dl.GetEvent().GetInteraction()); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// deadEvents are the dead-lettered events, newest received first.
func deadEvents(t *testing.T, h *harness) []string {
	t.Helper()
	dls := listDeadLetters(t, h, &queryv1.ListDeadLettersRequest{Parent: "tenants/" + tenant})
	slices.SortFunc(dls, func(a, b *queryv1.DeadLetter) int {
		return b.GetEvent().GetReceiveTime().AsTime().Compare(a.GetEvent().GetReceiveTime().AsTime())
	})
	var out []string
	for _, dl := range dls {
		out = append(out, idOf(dl.GetEvent().GetName()))
	}
	return out
}
