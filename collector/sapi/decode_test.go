package sapi

import (
	"errors"
	"slices"
	"testing"
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/proto"
)

var testReceived = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func decodeOK(t *testing.T, frame string) *eventv1.Event {
	t.Helper()
	ev, err := Decode([]byte(frame), "acmecorp01", "subs-1", testReceived)
	if err != nil {
		t.Fatalf("Decode(%s): %v", frame, err)
	}
	if _, err := proto.Marshal(ev); err != nil {
		t.Fatalf("decoded event does not marshal: %v", err)
	}
	return ev
}

func TestDecode_type_instability(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		check func(t *testing.T, f *eventv1.InteractionFields)
	}{
		{"inbound_channel_na_is_empty", `{"Interaction":{"interactionGUID":"i","inboundChannelid":"N/A"}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "inbound_channel_id", f.InboundChannelId, "")
			}},
		{"inbound_channel_number", `{"Interaction":{"interactionGUID":"i","inboundChannelid":13125555068}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "inbound_channel_id", f.InboundChannelId, "13125555068")
			}},
		{"disposition_code_number", `{"Interaction":{"interactionGUID":"i","dispositionCode":1000}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "disposition_code", f.DispositionCode, "1000")
			}},
		{"disposition_code_string", `{"Interaction":{"interactionGUID":"i","dispositionCode":"SALE"}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "disposition_code", f.DispositionCode, "SALE")
			}},
		{"participating_agents_commas_and_semicolons", `{"Interaction":{"interactionGUID":"i","participatingAgents":" agA, agB;agC ;; "}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				if want := []string{"agA", "agB", "agC"}; !slices.Equal(f.ParticipatingAgents, want) {
					t.Errorf("participating_agents = %q, want %q", f.ParticipatingAgents, want)
				}
			}},
		{"single_attached_datum_as_object", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":{"attachedDataKey":"phoneNum","attachedDataValue":5515557212}}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "customer_phone", f.CustomerPhone, "5515557212")
			}},
		{"phone_number_as_json_number_keeps_its_digits", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":[{"attachedDataKey":"pho","attachedDataValue":5515557212}]}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "customer_phone", f.CustomerPhone, "5515557212")
			}},
		{"remote_phone_preferred_over_phone_num", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":[{"attachedDataKey":"phoneNum","attachedDataValue":5515557212},{"attachedDataKey":"remotePhoneNum","attachedDataValue":"+15515557212"}]}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "customer_phone", f.CustomerPhone, "+15515557212")
			}},
		{"numbers_as_strings", `{"Interaction":{"interactionGUID":"i","queueId":"591","resourceType":"0","transactionNum":"19727","queueTime":"1669235836","outboundCampaignid":"61"}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantInt(t, "queue_id", f.QueueId, 591)
				wantInt(t, "resource_type", f.ResourceType, 0)
				wantInt(t, "transaction_num", f.TransactionNum, 19727)
				wantInt(t, "campaign_id", f.CampaignId, 61)
				if f.GetQueueTime().AsTime().Unix() != 1669235836 {
					t.Errorf("queue_time = %v", f.GetQueueTime())
				}
			}},
		{"number_in_exponent_notation", `{"Interaction":{"interactionGUID":"i","transactionNum":1.9727e4}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantInt(t, "transaction_num", f.TransactionNum, 19727)
			}},
		{"queue_list_single_number_string", `{"Interaction":{"interactionGUID":"i","queueList":"222"}}`,
			func(t *testing.T, f *eventv1.InteractionFields) { wantInt(t, "queue_id", f.QueueId, 222) }},
		{"queue_list_of_several_is_no_queue_id", `{"Interaction":{"interactionGUID":"i","queueList":"222,223"}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				if f.QueueId != nil {
					t.Errorf("queue_id = %d, want unset", f.GetQueueId())
				}
			}},
		{"campaign_zero_falls_back_to_camp_id", `{"Interaction":{"interactionGUID":"i","outboundCampaignid":0,"attachedData":{"attachedDatum":[{"attachedDataKey":"campId","attachedDataValue":"61"},{"attachedDataKey":"campName","attachedDataValue":"Form Submission"}]}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantInt(t, "campaign_id", f.CampaignId, 61)
				wantString(t, "campaign_name", f.CampaignName, "Form Submission")
				wantString(t, "interaction_type", f.InteractionType, "campaign")
			}},
		{"no_campaign_no_interaction_type", `{"Interaction":{"interactionGUID":"i","outboundCampaignid":0}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				if f.CampaignId != nil || f.InteractionType != "" {
					t.Errorf("campaign_id = %v, interaction_type = %q; want both unset", f.CampaignId, f.InteractionType)
				}
			}},
		{"interaction_type_from_ctl_trans_type", `{"Interaction":{"interactionGUID":"i","outboundCampaignid":61,"attachedData":{"attachedDatum":[{"attachedDataKey":"ctl_transType","attachedDataValue":"agentdial"}]}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "interaction_type", f.InteractionType, "agentdial")
			}},
		{"direction_from_queue_direction", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":[{"attachedDataKey":"queueDirection","attachedDataValue":"out"}]}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) { wantString(t, "direction", f.Direction, "out") }},
		{"transfer_and_wrap_up_attached_data", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":[{"attachedDataKey":"originalInteractionGuid","attachedDataValue":"int-orig"},{"attachedDataKey":"tclSelectedItems","attachedDataValue":"5|12,6|45"}]}}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {
				wantString(t, "original_interaction_id", f.OriginalInteractionId, "int-orig")
				wantString(t, "tcl_selected_items", f.TclSelectedItems, "5|12,6|45")
			}},
		{"interaction_guid_as_number", `{"Interaction":{"interactionGUID":12345}}`,
			func(t *testing.T, f *eventv1.InteractionFields) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decodeOK(t, tt.frame).GetInteraction())
		})
	}
}

func TestDecode_event_envelope(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		family   string
		typ      string
		orderKey string
		occurred time.Time
	}{
		{"unknown_root_key_passes_through", `{"GuestChatEnd":{"chatId":"c1","eventTS":1700000000}}`,
			"GuestChatEnd", "GuestChatEnd", "family:GuestChatEnd", time.Unix(1700000000, 0)},
		{"unknown_root_key_with_event_name", `{"MediaProxyAdded":{"event":"ProxyUp","agentId":"ag1"}}`,
			"MediaProxyAdded", "ProxyUp", "agent:ag1", testReceived},
		{"unknown_event_name", `{"Interaction":{"event":"InteractionTeleported","interactionGUID":"int-9"}}`,
			"Interaction", "InteractionTeleported", "int-9", testReceived},
		{"interaction_event_ts_wins", `{"Interaction":{"interactionGUID":"i","interactionEventTS":100,"eventTS":200,"msgInfo":{"timestamp":300000}}}`,
			"Interaction", "Interaction", "i", time.Unix(100, 0)},
		{"event_ts_second", `{"Interaction":{"interactionGUID":"i","eventTS":"200","msgInfo":{"timestamp":300000}}}`,
			"Interaction", "Interaction", "i", time.Unix(200, 0)},
		{"status_event_ts_third", `{"AgentStatusChange":{"agentId":"a","statusEventTS":250,"msgInfo":{"timestamp":300000}}}`,
			"AgentStatusChange", "AgentStatusChange", "agent:a", time.Unix(250, 0)},
		{"msginfo_timestamp_in_milliseconds", `{"AgentStatusChange":{"agentId":"a","msgInfo":{"timestamp":300123}}}`,
			"AgentStatusChange", "AgentStatusChange", "agent:a", time.UnixMilli(300123)},
		{"received_at_last", `{"AgentStatusChange":{"agentId":"a","statusEventTS":"soon","msgInfo":{}}}`,
			"AgentStatusChange", "AgentStatusChange", "agent:a", testReceived},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := decodeOK(t, tt.frame)
			if ev.Family != tt.family || ev.EventType != tt.typ || ev.OrderKey != tt.orderKey {
				t.Errorf("family, event_type, order_key = %q, %q, %q; want %q, %q, %q",
					ev.Family, ev.EventType, ev.OrderKey, tt.family, tt.typ, tt.orderKey)
			}
			if got := ev.OccurredAt.AsTime(); !got.Equal(tt.occurred) {
				t.Errorf("occurred_at = %v, want %v", got, tt.occurred)
			}
			if (ev.Interaction != nil) != (tt.family == "Interaction") {
				t.Errorf("interaction fields set = %v for family %s", ev.Interaction != nil, tt.family)
			}
			if ev.Source.GetSubscriptionId() != "subs-1" || ev.Tenant != "acmecorp01" {
				t.Errorf("source = %v, tenant = %q", ev.Source, ev.Tenant)
			}
		})
	}
}

func TestDecode_rejects_malformed_frames(t *testing.T) {
	tests := []struct {
		name   string
		frame  string
		reason string
	}{
		{"truncated_json", `{"Interaction":{"interactionGUID":"i"`, "invalid json"},
		{"binary_garbage", "\x00\x01\xfe\xff", ReasonInvalidUTF8},
		{"control_bytes", "\x00\x01", "invalid json"},
		{"invalid_utf8_in_a_field_value", "{\"Interaction\":{\"interactionGUID\":\"int-1\",\"agentId\":\"ag\xe9nt\"}}", ReasonInvalidUTF8},
		{"invalid_utf8_in_a_key", "{\"Interaction\":{\"interactionGUID\":\"int-1\",\"\xff\":\"x\"}}", ReasonInvalidUTF8},
		{"truncated_multibyte_character", "{\"Interaction\":{\"interactionGUID\":\"int-\xe2\x82\"}}", ReasonInvalidUTF8},
		{"invalid_utf8_in_xml", "<Interaction><interactionGUID>int-\xc0\xaf</interactionGUID></Interaction>", ReasonInvalidUTF8},
		{"trailing_data", `{"Interaction":{}}{"Interaction":{}}`, "invalid json"},
		{"atmosphere_handshake", "0b1c6f8e-4b1e|60000|X|", "invalid json"},
		{"empty_object", `{}`, "no root key"},
		{"array", `[{"Interaction":{}}]`, "not a json object"},
		{"two_root_keys", `{"Interaction":{},"AgentStatusChange":{}}`, "more than one root key"},
		{"root_value_not_object", `{"Interaction":"x"}`, "root value is not an object"},
		{"interaction_without_guid", `{"Interaction":{"event":"InteractionCreated"}}`, "interaction without interactionGUID"},
		{"deep_nesting", `{"a":` + deepArray(100) + `}`, "invalid json"},
		{"broken_xml", `<Interaction><event>x</Interaction>`, "invalid xml"},
		{"xml_root_with_text", `<Interaction>text</Interaction>`, "invalid xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode([]byte(tt.frame), "acmecorp01", "subs-1", testReceived)
			var de *DecodeError
			if !errors.As(err, &de) || de.Reason != tt.reason {
				t.Fatalf("Decode = %v, %v; want a DecodeError with reason %q", ev, err, tt.reason)
			}
		})
	}
}

func deepArray(n int) string {
	b := make([]byte, 0, 2*n)
	for range n {
		b = append(b, '[')
	}
	for range n {
		b = append(b, ']')
	}
	return string(b)
}

func TestDecode_raw_is_a_copy(t *testing.T) {
	frame := []byte(`{"Interaction":{"interactionGUID":"int-1"}}`)
	ev, err := Decode(frame, "t", "s", testReceived)
	if err != nil {
		t.Fatal(err)
	}
	want := string(frame)
	frame[2] = 'X'
	if string(ev.Raw) != want {
		t.Fatalf("raw changed with the caller's buffer: %q", ev.Raw)
	}
}

// A lone surrogate escape is valid UTF-8 on the wire but no character: it
// reads as U+FFFD, so every text fits a protobuf string.
func TestDecode_strings_are_valid_utf8(t *testing.T) {
	ev := decodeOK(t, "{\"Interaction\":{\"interactionGUID\":\"int-\\udc00\",\"agentId\":\"\\ud800x\",\"callState\":\"\\u00e9\\ud83d\\ude00\"}}")
	if ev.InteractionId != "int-\uFFFD" || ev.Interaction.AgentId != "\uFFFDx" || ev.Interaction.CallState != "é😀" {
		t.Fatalf("interaction_id %q, agent_id %q, call_state %q", ev.InteractionId, ev.Interaction.AgentId, ev.Interaction.CallState)
	}
}

// Decode rejects a frame that is not valid UTF-8, but the parser beneath it
// does not rely on that: a field sent as an object or array reads as its
// wire bytes, with invalid UTF-8 inside them replaced as in strings.
func TestParser_composite_texts_are_valid_utf8(t *testing.T) {
	tests := []struct {
		name      string
		frame     string
		agentID   string
		attached1 string // attachedData["k"]
	}{
		{"invalid_byte_in_object_key", "{\"Interaction\":{\"interactionGUID\":\"i\",\"agentId\":{\"\x87\":0}}}",
			"{\"\uFFFD\":0}", ""},
		{"invalid_bytes_in_array_value", "{\"Interaction\":{\"interactionGUID\":\"i\",\"attachedData\":{\"attachedDatum\":[{\"attachedDataKey\":\"k\",\"attachedDataValue\":[\"a\xff\xfeb\"]}]}}}",
			"", "[\"a\uFFFDb\"]"},
		{"escapes_kept_verbatim", "{\"Interaction\":{\"interactionGUID\":\"i\",\"agentId\":{\"a\":\"\\u00e9\xff\"}}}",
			"{\"a\":\"\\u00e9\uFFFD\"}", ""},
		{"valid_non_ascii_kept_verbatim", `{"Interaction":{"interactionGUID":"i","agentId":{"é":["😀"]}}}`,
			`{"é":["😀"]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := getDocument()
			defer d.release()
			if _, err := d.parseFrame([]byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			body := d.eventFields()
			wantString(t, "agent_id", d.textOf(body.agentID), tt.agentID)
			wantString(t, `attached_data["k"]`, d.attachedData(body.attachedData)["k"], tt.attached1)
		})
	}
}

func TestDecode_xml_matches_json(t *testing.T) {
	const jsonFrame = `{"Interaction":{"attachedData":{"attachedDatum":[{"attachedDataKey":"phoneNum","attachedDataValue":5515557212},{"attachedDataKey":"tenantSkillName","attachedDataValue":"Test Sales"}]},"callState":"CS_QUEUED","event":"InteractionQueued","interactionEventTS":1669235836,"interactionGUID":"int-184a63564dc-ohWfVIbHJz2Hr2JFhAfdlb4Fa-phone-00-acmecorp01","isAgentInitiated":false,"msgInfo":{"instanceId":"a","sequenceId":225,"timestamp":1669235836708},"queueId":591}}`
	const xmlFrame = `<?xml version='1.0'  encoding='UTF-8' ?>
<Interaction>
  <attachedData>
    <attachedDatum><attachedDataKey>phoneNum</attachedDataKey><attachedDataValue>5515557212</attachedDataValue></attachedDatum>
    <attachedDatum><attachedDataKey>tenantSkillName</attachedDataKey><attachedDataValue>Test Sales</attachedDataValue></attachedDatum>
  </attachedData>
  <callState>CS_QUEUED</callState>
  <event>InteractionQueued</event>
  <interactionEventTS>1669235836</interactionEventTS>
  <interactionGUID>int-184a63564dc-ohWfVIbHJz2Hr2JFhAfdlb4Fa-phone-00-acmecorp01</interactionGUID>
  <isAgentInitiated>false</isAgentInitiated>
  <msgInfo><instanceId>b</instanceId><sequenceId>7</sequenceId><timestamp>1669235836709</timestamp></msgInfo>
  <queueId>591</queueId>
</Interaction>`
	fromJSON, fromXML := decodeOK(t, jsonFrame), decodeOK(t, xmlFrame)
	if fromXML.DedupKey != fromJSON.DedupKey {
		t.Errorf("dedup_key differs between the XML and JSON forms of one event")
	}
	fromJSON.Raw, fromXML.Raw = nil, nil
	fromJSON.Source, fromXML.Source = nil, nil
	assertEvent(t, fromXML, fromJSON)
}

func TestDecode_xml_agent_status_sample(t *testing.T) {
	ev := decodeOK(t, "<?xml version='1.0'  encoding='UTF-8' ?>\n<AgentStatusChange>\n    <agentId>marcus</agentId>\n    <newState>2</newState>\n    <statusEventTS>1381563857</statusEventTS>\n</AgentStatusChange>")
	if ev.Family != "AgentStatusChange" || ev.OrderKey != "agent:marcus" || ev.OccurredAt.AsTime().Unix() != 1381563857 {
		t.Fatalf("family %q, order_key %q, occurred_at %v", ev.Family, ev.OrderKey, ev.OccurredAt.AsTime())
	}
}

func wantString(t *testing.T, field, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", field, got, want)
	}
}

func wantInt(t *testing.T, field string, got *int64, want int64) {
	t.Helper()
	if got == nil || *got != want {
		t.Errorf("%s = %v, want %d", field, got, want)
	}
}
