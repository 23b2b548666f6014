package sapi

import (
	"regexp"
	"strings"
	"testing"
)

// deassigned is an InteractionDeassigned as one 8x8 instance sends it.
const deassigned = `{"Interaction":{"agentId":"agyQDfU5k6SMKy8bv8vOXTGg","attachedData":{"attachedDatum":[{"attachedDataKey":"phoneNum","attachedDataValue":5515557212},{"attachedDataKey":"tok","attachedDataValue":19727}]},"callState":"CS_DISCONNECTED","dispositionCode":1000,"event":"InteractionDeassigned","interactionEventTS":1724685600,"interactionGUID":"int-1918f43ff2b-3AGMeob4DFLnS6Ubya5YMycm3-phone-01-regalvoice2demo01","msgInfo":{"instanceId":"us1tomcat04.us1.whitepj.net-sapi-v1","sequenceId":224,"timestamp":1724685600123}}}`

func keyOf(t *testing.T, tenant, subscription, frame string) string {
	t.Helper()
	ev, err := Decode([]byte(frame), tenant, subscription, testReceived)
	if err != nil {
		t.Fatalf("Decode(%s): %v", frame, err)
	}
	return ev.DedupKey
}

func TestDedupKey_same_event_same_key(t *testing.T) {
	base := keyOf(t, "acme", "subs-1", deassigned)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(base) {
		t.Fatalf("dedup_key %q, want 32 lowercase hex digits", base)
	}
	tests := []struct {
		name         string
		subscription string
		frame        string
	}{
		{"replay_after_reconnect", "subs-1", deassigned},
		{"failover_new_instance_restarted_sequence", "subs-1", replace(deassigned,
			`"msgInfo":{"instanceId":"us1tomcat04.us1.whitepj.net-sapi-v1","sequenceId":224,"timestamp":1724685600123}`,
			`"msgInfo":{"instanceId":"us1tomcat07.us1.whitepj.net-sapi-v1","sequenceId":3,"timestamp":1724685719001}`)},
		{"second_subscription", "subs-2", deassigned},
		{"msginfo_empty", "subs-1", replace(deassigned,
			`"msgInfo":{"instanceId":"us1tomcat04.us1.whitepj.net-sapi-v1","sequenceId":224,"timestamp":1724685600123}`, `"msgInfo":{}`)},
		{"key_order_and_whitespace", "subs-1", `{ "Interaction" : { "msgInfo":{"sequenceId":1}, "interactionGUID":"int-1918f43ff2b-3AGMeob4DFLnS6Ubya5YMycm3-phone-01-regalvoice2demo01", "interactionEventTS":1724685600, "event":"InteractionDeassigned", "dispositionCode":1000, "callState":"CS_DISCONNECTED", "attachedData":{"attachedDatum":[{"attachedDataValue":5515557212,"attachedDataKey":"phoneNum"},{"attachedDataKey":"tok","attachedDataValue":19727}]}, "agentId":"agyQDfU5k6SMKy8bv8vOXTGg" } }`},
		{"number_sent_as_string", "subs-1", replace(deassigned, `"dispositionCode":1000`, `"dispositionCode":"1000"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyOf(t, "acme", tt.subscription, tt.frame); got != base {
				t.Errorf("dedup_key = %s, want %s (the same event)", got, base)
			}
		})
	}
}

func TestDedupKey_different_events_different_keys(t *testing.T) {
	base := keyOf(t, "acme", "subs-1", deassigned)
	tests := []struct {
		name   string
		tenant string
		frame  string
	}{
		{"other_agent_same_interaction", "acme", replace(deassigned, `"agentId":"agyQDfU5k6SMKy8bv8vOXTGg"`, `"agentId":"ag9I1yUNAvRqG7ovVMi3NTyw"`)},
		{"same_event_type_later", "acme", replace(deassigned, `"interactionEventTS":1724685600`, `"interactionEventTS":1724685601`)},
		{"other_event_type", "acme", replace(deassigned, `InteractionDeassigned`, `InteractionDeleted`)},
		{"other_tenant", "other", deassigned},
		{"attached_data_reordered", "acme", replace(deassigned,
			`{"attachedDataKey":"phoneNum","attachedDataValue":5515557212},{"attachedDataKey":"tok","attachedDataValue":19727}`,
			`{"attachedDataKey":"tok","attachedDataValue":19727},{"attachedDataKey":"phoneNum","attachedDataValue":5515557212}`)},
		{"null_is_not_empty_string", "acme", replace(deassigned, `"dispositionCode":1000`, `"dispositionCode":null`)},
		{"other_root_key", "acme", replace(deassigned, `{"Interaction":`, `{"InteractionX":`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyOf(t, tt.tenant, "subs-1", tt.frame); got == base {
				t.Errorf("dedup_key is the same for a different event: %s", got)
			}
		})
	}
	if keyOf(t, "acme", "s", replace(deassigned, `"dispositionCode":1000`, `"dispositionCode":null`)) ==
		keyOf(t, "acme", "s", replace(deassigned, `"dispositionCode":1000`, `"dispositionCode":""`)) {
		t.Error("null and \"\" share a dedup key")
	}
}

func TestDedupKey_single_attached_datum_object_equals_array(t *testing.T) {
	asArray := `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":[{"attachedDataKey":"phoneNum","attachedDataValue":5515557212}]}}}`
	asObject := `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":{"attachedDataKey":"phoneNum","attachedDataValue":5515557212}}}}`
	if keyOf(t, "acme", "s", asArray) != keyOf(t, "acme", "s", asObject) {
		t.Fatal("a one-element attachedDatum array and the bare object get different keys")
	}
}

// replace is strings.Replace that insists on exactly one match, so a typo in
// a test cannot silently leave the event unchanged.
func replace(s, old, new string) string {
	if strings.Count(s, old) != 1 {
		panic("test fixture: " + old + " must occur exactly once")
	}
	return strings.Replace(s, old, new, 1)
}
