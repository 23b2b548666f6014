package chaos

import (
	"strings"
	"testing"
)

func TestExpectedAtRegal(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want eventID
		ok   bool
	}{
		{
			name: "mapped_with_phone",
			raw: `{"Interaction":{"event":"InteractionDeassigned","interactionGUID":"int-1","interactionEventTS":1724685540,` +
				`"attachedData":{"attachedDatum":[{"attachedDataKey":"remotePhoneNum","attachedDataValue":"+15515550142"}]}}}`,
			want: eventID{Interaction: "int-1", Name: "Interaction Deassigned", Timestamp: "2024-08-26 15:19:00 +00:00"},
			ok:   true,
		},
		{
			name: "mapped_without_phone",
			raw:  `{"Interaction":{"event":"InteractionCreated","interactionGUID":"int-1","interactionEventTS":1724685540}}`,
		},
		{
			name: "not_mapped",
			raw: `{"Interaction":{"event":"InteractionEndPostProcess","interactionGUID":"int-1","interactionEventTS":1724685540,` +
				`"attachedData":{"attachedDatum":[{"attachedDataKey":"pho","attachedDataValue":5515550142}]}}}`,
		},
		{
			name: "agent_event",
			raw:  `{"AgentStatusChange":{"agentId":"ag1","newState":3,"statusEventTS":1724685540}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := expectedAtRegal([]byte(tt.raw))
			if err != nil || ok != tt.ok || got != tt.want {
				t.Errorf("expectedAtRegal = %+v, %t, %v; want %+v, %t", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestGroundTruth_orders_each_interaction_as_scripted(t *testing.T) {
	g, err := newGroundTruth(7, "acmecorp01", 40, 10, scenarioStart)
	if err != nil {
		t.Fatal(err)
	}
	// A transfer adds a second interaction to its call; the shortest flow
	// (an IVR hang-up) has two mapped events.
	if g.calls != 40 || len(g.order) == 0 || len(g.order) > 2*40 || g.total() < 2*len(g.order) {
		t.Fatalf("%d calls, %d interactions, %d expected events", g.calls, len(g.order), g.total())
	}
	for _, interaction := range g.order {
		events := g.expected[interaction]
		if events[0].Name != "Interaction Created" || events[len(events)-1].Name != "Interaction Deleted" {
			t.Errorf("%s: first %q, last %q", interaction, events[0].Name, events[len(events)-1].Name)
		}
		for i, id := range events {
			if g.position[id] != i || !strings.HasSuffix(id.Timestamp, " +00:00") {
				t.Errorf("%s at position %d, recorded %d", id, i, g.position[id])
			}
			if i > 0 && id.Timestamp < events[i-1].Timestamp {
				t.Errorf("%s is earlier than the event before it", id)
			}
		}
	}
}
