package scenario

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

var start = time.Date(2024, 8, 26, 15, 18, 3, 0, time.UTC)

// decodeCall decodes every event of a call with the collector's decoder.
func decodeCall(t *testing.T, c Call) []*eventv1.Event {
	t.Helper()
	events := make([]*eventv1.Event, len(c.Events))
	for i, raw := range c.Events {
		if bytes.ContainsAny(raw, "\n\r") {
			t.Fatalf("event %d spans lines: %s", i, raw)
		}
		ev, err := sapi.Decode(raw, "regalvoice2demo01", "s", start)
		if err != nil {
			t.Fatalf("event %d does not decode: %v\n%s", i, err, raw)
		}
		events[i] = ev
	}
	return events
}

func eventTypes(events []*eventv1.Event) []string {
	names := make([]string, len(events))
	for i, ev := range events {
		names[i] = ev.EventType
	}
	return names
}

func TestFlows_event_sequences(t *testing.T) {
	tests := []struct {
		name  string
		flow  func(*rand.Rand, string, time.Time) Call
		want  []string
		check func(t *testing.T, events []*eventv1.Event)
	}{
		{FlowInboundAnswered, InboundAnswered, []string{
			"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted",
			"InteractionPostProcess", "InteractionEndPostProcess", "InteractionDeassigned", "InteractionDeleted",
		}, func(t *testing.T, events []*eventv1.Event) {
			queued := events[1].Interaction
			if queued.Direction != "in" || queued.GetQueueId() != 591 || queued.QueueName != "Test Sales" || queued.InboundChannelId != "13125555068" {
				t.Errorf("queued: %v", queued)
			}
			if events[6].Interaction.DispositionCode == "" || !strings.Contains(events[5].Interaction.TclSelectedItems, "|") {
				t.Errorf("wrap-up: disposition %q, tcl %q", events[6].Interaction.DispositionCode, events[5].Interaction.TclSelectedItems)
			}
		}},
		{FlowOutboundCampaignAnswered, OutboundCampaignAnswered, []string{
			"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted",
			"InteractionCustomerAccepted", "InteractionParticipantChange", "InteractionPostProcess",
			"InteractionDeassigned", "InteractionDeleted",
		}, func(t *testing.T, events []*eventv1.Event) {
			for i, ev := range events {
				f := ev.Interaction
				if f.GetCampaignId() != 61 || f.CampaignName != "Form Submission - High Net Worth: 3 Attempts" ||
					f.GetQueueId() != 110 || f.InteractionType != "campaign" || f.InboundChannelId != "" {
					t.Errorf("%s does not match Regal's campaign example: %v", ev.EventType, f)
				}
				// Regal's "Interaction Created" example has no direction,
				// media type or queue name; every later event has them.
				if created := i == 0; created != (f.QueueName == "" && f.Direction == "" && f.MediaType == "") {
					t.Errorf("%s: queue name %q, direction %q, media type %q", ev.EventType, f.QueueName, f.Direction, f.MediaType)
				}
				if i > 0 && (f.QueueName != "New Form - High Net Worth" || f.Direction != "out") {
					t.Errorf("%s does not match Regal's campaign example: %v", ev.EventType, f)
				}
			}
			if got := events[2].Interaction.AgentId; got != "agyQDfU5k6SMKy8bv8vOXTGg" {
				t.Errorf("assigned agent %q", got)
			}
			if got := events[7].Interaction.DispositionCode; got != "1000" {
				t.Errorf("deassigned disposition %q, want 1000", got)
			}
		}},
		{FlowOutboundNotAnswered, OutboundNotAnswered, []string{
			"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted", "InteractionDeleted",
		}, func(t *testing.T, events []*eventv1.Event) {
			f := events[4].Interaction
			if f.HangupInitiator != "SYSTEM" || f.CallHangupReason != "CEC_DISCONNECT_NOANSWER" || f.DispositionCode != "1001" {
				t.Errorf("deleted: %v", f)
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
				assertConsistentCall(t, c, events)
				tt.check(t, events)
			}
		})
	}
}

// assertConsistentCall checks what every event of one call shares.
func assertConsistentCall(t *testing.T, c Call, events []*eventv1.Event) {
	t.Helper()
	if c.Name == "" || !strings.HasPrefix(c.Phone, "+1") || len(c.Phone) != 12 {
		t.Errorf("call %q phone %q", c.Name, c.Phone)
	}
	assertGUIDShape(t, c.InteractionID, "regalvoice2demo01")
	var last int64
	for _, ev := range events {
		f := ev.Interaction
		if ev.InteractionId != c.InteractionID || f.CustomerPhone != c.Phone {
			t.Errorf("%s: interaction %q phone %q, want %q %q", ev.EventType, ev.InteractionId, f.CustomerPhone, c.InteractionID, c.Phone)
		}
		if tok := ev.AttachedData["tok"]; f.TransactionNum == nil || tok == "" || tok != jsonNumber(*f.TransactionNum) {
			t.Errorf("%s: transaction_num %v, tok %q", ev.EventType, f.TransactionNum, tok)
		}
		if ts := ev.OccurredAt.AsTime().Unix(); ts < last {
			t.Errorf("%s: time goes back from %d to %d", ev.EventType, last, ts)
		} else {
			last = ts
		}
		if ev.Source.GetInstanceId() != "" {
			t.Errorf("%s carries msgInfo; the double stamps it", ev.EventType)
		}
	}
	if !json.Valid(c.Events[0]) || !bytes.Contains(c.Events[0], []byte(`"phoneNum","attachedDataValue":`+strings.TrimPrefix(c.Phone, "+1")+"}")) {
		t.Errorf("phoneNum is not a JSON number: %s", c.Events[0])
	}
}

func assertGUIDShape(t *testing.T, guid, tenant string) {
	t.Helper()
	parts := strings.Split(guid, "-")
	if len(parts) != 6 || parts[0] != "int" || len(parts[1]) != 11 || len(parts[2]) != 25 || parts[3] != "phone" || len(parts[4]) != 2 || parts[5] != tenant {
		t.Errorf("interactionGUID %q does not have 8x8's shape", guid)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestFlows_are_deterministic_by_seed(t *testing.T) {
	a := Mix(7, "acme", 30, start)
	b := Mix(7, "acme", 30, start)
	c := Mix(8, "acme", 30, start)
	if !sameCalls(a, b) {
		t.Fatal("the same seed gave different calls")
	}
	if sameCalls(a, c) {
		t.Fatal("different seeds gave the same calls")
	}
	if !slices.EqualFunc(Interleave(a, 3), Interleave(b, 3), bytes.Equal) {
		t.Fatal("the same seed interleaved differently")
	}
}

func sameCalls(a, b []Call) bool {
	return slices.EqualFunc(a, b, func(x, y Call) bool {
		return x.Name == y.Name && x.InteractionID == y.InteractionID && slices.EqualFunc(x.Events, y.Events, bytes.Equal)
	})
}

func TestMix_has_every_flow_and_decodes(t *testing.T) {
	calls := Mix(1, "acme", 200, start)
	seen := map[string]int{}
	for _, c := range calls {
		seen[c.Name]++
		decodeCall(t, c)
	}
	for _, flow := range []string{
		FlowInboundAnswered, FlowOutboundCampaignAnswered, FlowOutboundNotAnswered, FlowAgentBreak, FlowInboundAbandoned,
		FlowIVRHangup, FlowOutboundBusy, FlowAgentRejectReoffer, FlowHoldUnhold, FlowTransfer,
	} {
		if seen[flow] == 0 {
			t.Errorf("no %s in a mix of 200: %v", flow, seen)
		}
	}
}

func TestInterleave_keeps_each_call_in_order(t *testing.T) {
	calls := Mix(5, "acme", 12, start)
	stream := Interleave(calls, 9)
	position := map[string]int{}
	for i, ev := range stream {
		position[string(ev)] = i
	}
	total := 0
	for _, c := range calls {
		total += len(c.Events)
		for i := 1; i < len(c.Events); i++ {
			if position[string(c.Events[i-1])] >= position[string(c.Events[i])] {
				t.Fatalf("call %s: event %d comes before event %d", c.InteractionID, i, i-1)
			}
		}
	}
	if len(stream) != total {
		t.Fatalf("interleaved %d events, want %d", len(stream), total)
	}
}

func TestAgentStatus_matches_8x8_sample_shape(t *testing.T) {
	got := string(AgentStatus("ag64oyEUb_Sk6bxVB9P5yaaa", AgentWorkOffline, "801=1722", time.Unix(1669235544, 0)))
	want := `{"AgentStatusChange":{"agentId":"ag64oyEUb_Sk6bxVB9P5yaaa","newReasonCodeUser":"801=1722","newState":5,"newSubState":"none","newSubStateReason":"none","statusEventTS":1669235544}}`
	if got != want {
		t.Fatalf("AgentStatus =\n %s\nwant\n %s", got, want)
	}
	ev, err := sapi.Decode([]byte(got), "acme", "s", start)
	if err != nil || ev.OrderKey != "agent:ag64oyEUb_Sk6bxVB9P5yaaa" {
		t.Fatalf("decode: %v, %v", ev, err)
	}
}
