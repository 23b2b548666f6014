package timeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

func dimsEvent(tenant, interaction, phone, agent string) *eventv1.Event {
	return &eventv1.Event{Tenant: tenant, InteractionId: interaction,
		Interaction: &eventv1.InteractionFields{CustomerPhone: phone, AgentId: agent}}
}

func TestDimsCacheCompletesAndReveals(t *testing.T) {
	long := strings.Repeat("k", 40) // longer than an inline id
	tests := []struct {
		name         string
		events       []*eventv1.Event
		ids          []string
		wantPhone    string
		wantAgents   []string
		wantRevealed []string   // by the last event
		wantEarlier  []eventRef // by the last event
	}{
		{
			name:      "an_event_without_the_phone_gets_its_interactions",
			events:    []*eventv1.Event{dimsEvent("t", "int-1", "+14155550100", ""), dimsEvent("t", "int-1", "", "")},
			ids:       []string{"a", "b"},
			wantPhone: "+14155550100",
		},
		{
			name: "the_same_interaction_id_of_another_tenant_is_another_interaction",
			events: []*eventv1.Event{dimsEvent("t1", "int-1", "+14155550100", ""),
				dimsEvent("t2", "int-1", "", "")},
			ids: []string{"a", "b"},
		},
		{
			name: "a_phone_revealed_late_is_reported_with_every_earlier_event_long_ids_too",
			events: []*eventv1.Event{dimsEvent("t", "int-1", "", ""), dimsEvent("t", "int-1", "", ""),
				dimsEvent("t", "int-1", "+14155550100", "")},
			ids:          []string{"0123456789abcdef0123456789abcdef", long, "c"},
			wantPhone:    "+14155550100",
			wantRevealed: []string{dimPhone("+14155550100")},
			wantEarlier:  []eventRef{{id: "0123456789abcdef0123456789abcdef", ms: 0}, {id: long, ms: 1}},
		},
		{
			name: "an_event_seen_twice_is_remembered_once",
			events: []*eventv1.Event{dimsEvent("t", "int-1", "", ""), dimsEvent("t", "int-1", "", ""),
				dimsEvent("t", "int-1", "", "ag-1")},
			ids:          []string{"a", "a", "c"},
			wantAgents:   []string{"ag-1"},
			wantRevealed: []string{dimAgent("ag-1")},
			wantEarlier:  []eventRef{{id: "a", ms: 0}},
		},
		{
			name: "agents_accumulate_and_the_same_phone_is_not_revealed_again",
			events: []*eventv1.Event{dimsEvent("t", "int-1", "+14155550100", "ag-1"),
				dimsEvent("t", "int-1", "+14155550100", "ag-2")},
			ids:          []string{"a", "b"},
			wantPhone:    "+14155550100",
			wantAgents:   []string{"ag-1", "ag-2"},
			wantRevealed: []string{dimAgent("ag-2")},
			wantEarlier:  []eventRef{{id: "a", ms: 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newDimsCache("US")
			var o observation
			for i, ev := range tt.events {
				o = c.observe(ev, &eventRef{id: tt.ids[i], ms: int64(i)})
			}
			if o.dims.Phone != tt.wantPhone || !slices.Equal(o.dims.Agents, tt.wantAgents) {
				t.Errorf("dims %+v, want phone %q agents %v", o.dims, tt.wantPhone, tt.wantAgents)
			}
			if !slices.Equal(o.revealed, tt.wantRevealed) {
				t.Errorf("revealed %v, want %v", o.revealed, tt.wantRevealed)
			}
			if !slices.Equal(o.earlier, tt.wantEarlier) {
				t.Errorf("earlier %v, want %v", o.earlier, tt.wantEarlier)
			}
		})
	}
}

func TestDimsCacheHoldsAtMostItsSizeAndKeepsActiveInteractions(t *testing.T) {
	c := newDimsCache("US")
	c.observe(dimsEvent("t", "active", "+14155550100", ""), &eventRef{id: "first"})
	for i := range 3 * dimsCacheSize {
		c.observe(dimsEvent("t", fmt.Sprintf("int-%d", i), "+14155550101", ""), &eventRef{id: "x"})
		if i%1000 == 0 {
			c.observe(dimsEvent("t", "active", "", ""), nil) // the interaction keeps talking
		}
		if n := c.entries.Len(); n > dimsCacheSize {
			t.Fatalf("holds %d interactions, above %d", n, dimsCacheSize)
		}
	}
	if got := c.of(dimsEvent("t", "active", "", "")); got.Phone != "+14155550100" {
		t.Fatalf("an interaction that kept talking lost its phone: %+v", got)
	}
	if got := c.of(dimsEvent("t", "int-0", "", "")); got.Phone != "" {
		t.Fatalf("an idle interaction was kept past %d newer ones: %+v", 3*dimsCacheSize, got)
	}
}
