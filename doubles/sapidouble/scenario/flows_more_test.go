package scenario

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// withoutAttachedData lists the events that, like 8x8's samples H and I,
// carry no attachedData (so no tok and no phone).
var withoutAttachedData = map[string]bool{"InteractionRejected": true, "LineHoldStatus": true}

func TestMoreFlows_event_sequences(t *testing.T) {
	tests := []struct {
		name  string
		flow  func(*rand.Rand, string, time.Time) Call
		want  []string
		check func(t *testing.T, events []*eventv1.Event)
	}{
		{"inbound_abandoned_in_queue", InboundAbandoned, []string{
			"InteractionCreated", "InteractionQueued", "InteractionUnqueued", "InteractionDeleted",
		}, func(t *testing.T, events []*eventv1.Event) {
			if f := events[3].Interaction; f.HangupInitiator != "CUSTOMER" || f.AgentId != "" || f.QueueName != "Test Sales" {
				t.Errorf("deleted: %v", f)
			}
		}},
		{"ivr_hang_up", IVRHangup, []string{"InteractionCreated", "InteractionDeleted"},
			func(t *testing.T, events []*eventv1.Event) {
				f := events[1].Interaction
				if f.HangupInitiator != "CUSTOMER" || f.CallHangupReason != "CEC_DISCONNECT_NORMAL" || f.DispositionCode != "1000" || f.QueueName != "" {
					t.Errorf("deleted: %v", f)
				}
			}},
		{"outbound_busy", OutboundBusy, []string{"InteractionCreated", "InteractionAssigned", "InteractionDeleted"},
			func(t *testing.T, events []*eventv1.Event) {
				f := events[2].Interaction
				if f.HangupInitiator != "SYSTEM" || f.CallHangupReason != "CEC_DISCONNECT_BUSY" || f.DispositionCode != "1001" || f.GetCampaignId() != 61 {
					t.Errorf("deleted: %v", f)
				}
			}},
		{"agent_reject_and_re_offer", AgentRejectReoffer, []string{
			"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionRejected", "InteractionAssigned",
			"InteractionAccepted", "InteractionPostProcess", "InteractionEndPostProcess", "InteractionDeassigned", "InteractionDeleted",
		}, func(t *testing.T, events []*eventv1.Event) {
			first, rejected, second := events[2].Interaction, events[3].Interaction, events[4].Interaction
			if rejected.AgentId != first.AgentId || rejected.CallState != "CS_QUEUED" || second.AgentId == first.AgentId {
				t.Errorf("offered to %q, rejected by %q in %q, re-offered to %q", first.AgentId, rejected.AgentId, rejected.CallState, second.AgentId)
			}
			if events[5].Interaction.AgentId != second.AgentId {
				t.Errorf("accepted by %q, want %q", events[5].Interaction.AgentId, second.AgentId)
			}
		}},
		{"hold_and_unhold", HoldUnhold, []string{
			"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted", "LineHoldStatus",
			"LineHoldStatus", "InteractionPostProcess", "InteractionEndPostProcess", "InteractionDeassigned", "InteractionDeleted",
		}, func(t *testing.T, events []*eventv1.Event) {
			if events[4].Interaction.CallState != "CS_HOLD" || events[5].Interaction.CallState != "CS_CONNECTED" {
				t.Errorf("hold states %q, %q", events[4].Interaction.CallState, events[5].Interaction.CallState)
			}
			if events[4].Interaction.AgentId != events[3].Interaction.AgentId {
				t.Errorf("held by %q, answered by %q", events[4].Interaction.AgentId, events[3].Interaction.AgentId)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range int64(20) {
				c := tt.flow(NewRand(seed), "regalvoice2demo01", start)
				events := decodeCall(t, c)
				if got := eventTypes(events); !slices.Equal(got, tt.want) {
					t.Fatalf("seed %d: events %q, want %q", seed, got, tt.want)
				}
				assertConsistentLegs(t, c, events)
				tt.check(t, events)
			}
		})
	}
}

func TestTransfer_links_two_legs(t *testing.T) {
	type leg int
	const (
		first leg = iota
		second
	)
	want := []struct {
		leg   leg
		event string
	}{
		{first, "InteractionCreated"}, {first, "InteractionQueued"}, {first, "InteractionAssigned"}, {first, "InteractionAccepted"},
		{second, "InteractionCreated"}, {second, "InteractionAssigned"}, {second, "InteractionAccepted"},
		{first, "InteractionPostProcess"}, {first, "InteractionEndPostProcess"}, {first, "InteractionDeassigned"}, {first, "InteractionDeleted"},
		{second, "InteractionPostProcess"}, {second, "InteractionEndPostProcess"}, {second, "InteractionDeassigned"}, {second, "InteractionDeleted"},
	}
	for seed := range int64(20) {
		c := Transfer(NewRand(seed), "regalvoice2demo01", start)
		if len(c.LinkedInteractionIDs) != 1 || c.LinkedInteractionIDs[0] == c.InteractionID {
			t.Fatalf("seed %d: linked %q to %q", seed, c.LinkedInteractionIDs, c.InteractionID)
		}
		assertGUIDShape(t, c.LinkedInteractionIDs[0], "regalvoice2demo01")
		guids := []string{c.InteractionID, c.LinkedInteractionIDs[0]}
		events := decodeCall(t, c)
		if len(events) != len(want) {
			t.Fatalf("seed %d: %d events %q, want %d", seed, len(events), eventTypes(events), len(want))
		}
		for i, ev := range events {
			if ev.EventType != want[i].event || ev.InteractionId != guids[want[i].leg] {
				t.Fatalf("seed %d event %d: %s on %s, want %s on leg %d", seed, i, ev.EventType, ev.InteractionId, want[i].event, want[i].leg)
			}
		}
		assertConsistentLegs(t, c, events)
		firstTok, linked := events[0].AttachedData["tok"], events[4].AttachedData
		if linked["originalInteractionGuid"] != c.InteractionID || linked["originalTokenId"] != firstTok ||
			linked["originalTransactionId"] != firstTok || linked["tok"] == firstTok {
			t.Errorf("seed %d: second leg attached data %v, first tok %s", seed, linked, firstTok)
		}
		if events[2].Interaction.AgentId == events[5].Interaction.AgentId {
			t.Errorf("seed %d: transferred to the same agent %s", seed, events[2].Interaction.AgentId)
		}
	}
}

// assertConsistentLegs checks every leg of a call like assertConsistentCall
// checks a single one, leaving out the per-event tok and phone checks on
// events 8x8 sends without attachedData.
func assertConsistentLegs(t *testing.T, c Call, events []*eventv1.Event) {
	t.Helper()
	assertGUIDShape(t, c.InteractionID, "regalvoice2demo01")
	legs := append([]string{c.InteractionID}, c.LinkedInteractionIDs...)
	toks := map[string]string{}
	var last int64
	for _, ev := range events {
		f := ev.Interaction
		if !slices.Contains(legs, ev.InteractionId) {
			t.Errorf("%s: interaction %q is none of %q", ev.EventType, ev.InteractionId, legs)
		}
		if ts := ev.OccurredAt.AsTime().Unix(); ts < last {
			t.Errorf("%s: time goes back from %d to %d", ev.EventType, last, ts)
		} else {
			last = ts
		}
		if f.TransactionNum != nil && toks[ev.InteractionId] == "" {
			toks[ev.InteractionId] = jsonNumber(*f.TransactionNum)
		}
		if withoutAttachedData[ev.EventType] {
			continue
		}
		tok := ev.AttachedData["tok"]
		if f.CustomerPhone != c.Phone || tok == "" || (toks[ev.InteractionId] != "" && tok != toks[ev.InteractionId]) {
			t.Errorf("%s: phone %q tok %q, want %q %q", ev.EventType, f.CustomerPhone, tok, c.Phone, toks[ev.InteractionId])
		}
	}
}
