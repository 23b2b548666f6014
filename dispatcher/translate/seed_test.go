package translate_test

import (
	"os"
	"reflect"
	"regexp"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/dispatcher/translate"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// seedEvents are the normalized events that carry, for each example of
// Regal's 8x8 page, what SAPI would carry for it.
func seedEvents() map[string]*eventv1.Event {
	campaign := func(f *eventv1.InteractionFields) {
		f.CampaignId = proto.Int64(61)
		f.CampaignName = seedCampaignName
		f.InteractionType = "campaign"
		f.QueueId = proto.Int64(110)
		f.CustomerPhone = "5515557212"
	}
	queued := func(queueTime int64) func(*eventv1.InteractionFields) {
		return func(f *eventv1.InteractionFields) {
			campaign(f)
			f.Direction = "out"
			f.MediaType = "phone"
			f.QueueName = seedQueueName
			f.QueueTime = timestamp(queueTime)
		}
	}
	withAgent := func(fill func(*eventv1.InteractionFields)) func(*eventv1.InteractionFields) {
		return func(f *eventv1.InteractionFields) {
			fill(f)
			f.AgentId = seedAgentID
			f.ParticipatingAgents = []string{seedAgentID}
		}
	}
	return map[string]*eventv1.Event{
		"Interaction Created": interactionEvent("InteractionCreated", firstCallID, 1724685480, func(f *eventv1.InteractionFields) {
			campaign(f)
			f.CallState = "CS_IDLE"
		}),
		"Interaction Queued": interactionEvent("InteractionQueued", firstCallID, 1724685483, queued(1724685483)),
		"Interaction Assigned": interactionEvent("InteractionAssigned", firstCallID, 1724685484,
			withAgent(queued(1724685483))),
		"Interaction Deassigned": interactionEvent("InteractionDeassigned", firstCallID, 1724685540, func(f *eventv1.InteractionFields) {
			withAgent(queued(1724685483))(f)
			f.DispositionCode = "1000"
		}),
		"Interaction Accepted": interactionEvent("InteractionAccepted", secondCallID, 1724686565,
			withAgent(queued(1724686563))),
		"Interaction Customer Accepted": interactionEvent("InteractionCustomerAccepted", secondCallID, 1724686571, func(f *eventv1.InteractionFields) {
			withAgent(queued(1724686563))(f)
			f.MediaType = "" // absent from Regal's example
			f.CustomerPhone = "+15515557212"
		}),
		"Interaction Post Process": interactionEvent("InteractionPostProcess", secondCallID, 1724686690,
			withAgent(queued(1724686563))),
		"Interaction Deleted": interactionEvent("InteractionDeleted", secondCallID, 1724686750, func(f *eventv1.InteractionFields) {
			queued(1724686563)(f)
			f.DispositionCode = "1001"
			f.HangupInitiator = "AGENT"
			f.CallHangupReason = "CEC_DISCONNECT_NORMAL"
		}),
	}
}

// seedProperties reads the example properties of Regal's 8x8 page.
func seedProperties(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("testdata/seed_properties.json")
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, data).(map[string]any)["events"].(map[string]any)
}

var regalTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00$`)

// dispositionNames are the readable names the default mapping adds to the
// seed's examples that carry a documented disposition_code.
var dispositionNames = map[string]string{
	"Interaction Deassigned": "None",      // disposition_code 1000
	"Interaction Deleted":    "Try Again", // disposition_code 1001
}

func TestTranslate_matches_regal_8x8_examples(t *testing.T) {
	seedOnly := translate.DefaultMapping()
	off := false
	seedOnly.DispositionNames = &off
	tests := []struct {
		name      string
		mapping   translate.Mapping
		withNames bool
	}{
		{"default_mapping_adds_disposition_names", translate.DefaultMapping(), true},
		{"without_disposition_names_equals_the_seed_exactly", seedOnly, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSeedExamples(t, tt.mapping, tt.withNames) })
	}
}

func checkSeedExamples(t *testing.T, mapping translate.Mapping, withNames bool) {
	translator, err := translate.New(mapping)
	if err != nil {
		t.Fatal(err)
	}
	want := seedProperties(t)
	if withNames {
		for name, disposition := range dispositionNames {
			want[name].(map[string]any)["disposition"] = disposition
		}
	}
	events := seedEvents()
	if len(events) != len(want) || len(want) != 8 {
		t.Fatalf("have %d seed events for %d seed examples, want 8", len(events), len(want))
	}
	for name, ev := range events {
		t.Run(name, func(t *testing.T) {
			got, err := translator.Translate(ev)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			body := wireJSON(t, got)
			if !reflect.DeepEqual(body["properties"], want[name]) {
				t.Errorf("properties\n got %v\nwant %v", body["properties"], want[name])
			}
			if body["name"] != name {
				t.Errorf("name = %v, want %q", body["name"], name)
			}
			if body["eventSource"] != "8x8" {
				t.Errorf("eventSource = %v, want 8x8", body["eventSource"])
			}
			ts, _ := body["originalTimestamp"].(string)
			if !regalTimestamp.MatchString(ts) || ts != formatUnix(ev.GetOccurredAt().GetSeconds()) {
				t.Errorf("originalTimestamp = %q, want occurred_at as %q", ts, "2006-01-02 15:04:05 +00:00")
			}
			wantTraits := map[string]any{"phones": map[string]any{customerE164: map[string]any{}}}
			if !reflect.DeepEqual(body["traits"], wantTraits) {
				t.Errorf("traits = %v, want %v", body["traits"], wantTraits)
			}
			if _, has := body["userId"]; has {
				t.Errorf("userId is set, want it absent")
			}
		})
	}
}
