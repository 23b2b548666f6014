package sapi

import (
	"bufio"
	"errors"
	"os"
	"testing"
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// documentedSamples is 8x8's published sample events, one per line (A to J,
// see the .index.txt beside it).
const documentedSamples = "../../testdata/sapi/documented-samples.ndjson"

func readSamples(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(documentedSamples)
	if err != nil {
		t.Fatalf("the documented SAPI samples are required: %v", err)
	}
	defer func() { _ = f.Close() }()
	var lines [][]byte
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		lines = append(lines, append([]byte(nil), s.Bytes()...))
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 10 {
		t.Fatalf("%s has %d lines, want the 10 samples A-J", documentedSamples, len(lines))
	}
	return lines
}

func seconds(s int64) *timestamppb.Timestamp { return timestamppb.New(time.Unix(s, 0)) }

func millis(ms int64) *timestamppb.Timestamp { return timestamppb.New(time.UnixMilli(ms)) }

const sapiInstance = "us1tomcat04.us1.whitepj.net-sapi-v1"

func TestDecode_documented_samples(t *testing.T) {
	lines := readSamples(t)
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const subs = "regal-bridge"
	source := func(seq, ms int64) *eventv1.SourcePosition {
		return &eventv1.SourcePosition{InstanceId: sapiInstance, SequenceId: seq, Timestamp: millis(ms), SubscriptionId: subs}
	}
	const callD = "int-184a63564dc-ohWfVIbHJz2Hr2JFhAfdlb4Fa-phone-00-acmecorp01"
	const callG = "int-1963f527a2a-9wjz0hrkcolMxIqiOhxEsKFe9-phone-01-tenant01"
	tests := []struct {
		name string
		line int // 1-based line of documented-samples.ndjson
		want *eventv1.Event
	}{
		{name: "B_agent_status_change", line: 2, want: &eventv1.Event{
			Family: "AgentStatusChange", EventType: "AgentStatusChange",
			OccurredAt: seconds(1669235544), OrderKey: "agent:ag64oyEUb_Sk6bxVB9P5yaaa",
			Source: source(215, 1669235544917),
		}},
		{name: "C_agent_prov_change_time_from_msginfo", line: 3, want: &eventv1.Event{
			Family: "AgentProvChange", EventType: "AgentSkillChanged",
			OccurredAt: millis(1669235693377), OrderKey: "agent:ag64oyEUb_Sk6bxVB9P5yaaa",
			Source: source(219, 1669235693377),
		}},
		{name: "D_interaction_created_inbound", line: 4, want: &eventv1.Event{
			Family: "Interaction", EventType: "InteractionCreated", InteractionId: callD, OrderKey: callD,
			OccurredAt: seconds(1669235827), Source: source(224, 1669235827942),
			Interaction: &eventv1.InteractionFields{
				CallState: "CS_QUEUED", ResourceType: proto.Int64(0), CustomerPhone: "+15515557212",
				TransactionNum: proto.Int64(19727), InboundChannelId: "13125555068",
			},
			AttachedData: map[string]string{
				"@pri": "100", "callingName": "Andrew Cunningh", "cha": "13125555068", "cnt": "0", "con": "0",
				"med": "T", "pho": "5515557212", "phoneNum": "5515557212", "remoteCallingName": "Andrew Cunningh",
				"remotePhoneNum": "+15515557212", "tok": "19727",
			},
		}},
		{name: "E_interaction_queued", line: 5, want: &eventv1.Event{
			Family: "Interaction", EventType: "InteractionQueued", InteractionId: callD, OrderKey: callD,
			OccurredAt: seconds(1669235836), Source: source(225, 1669235836708),
			Interaction: &eventv1.InteractionFields{
				CallState: "CS_QUEUED", Direction: "in", MediaType: "phone", ResourceType: proto.Int64(0),
				QueueId: proto.Int64(591), QueueName: "Test Sales", QueueTime: seconds(1669235836),
				CustomerPhone: "+15515557212", TransactionNum: proto.Int64(19727), InboundChannelId: "13125555068",
			},
		}},
		{name: "F_interaction_deleted_in_ivr", line: 6, want: &eventv1.Event{
			Family: "Interaction", EventType: "InteractionDeleted",
			InteractionId: "int-184a645e074-zGIsMxOkCYzQ8yg68e3t61i7A-phone-00-acmecorp01",
			OrderKey:      "int-184a645e074-zGIsMxOkCYzQ8yg68e3t61i7A-phone-00-acmecorp01",
			OccurredAt:    seconds(1669236911), Source: source(251, 1669236911188),
			Interaction: &eventv1.InteractionFields{
				CallState: "CS_DISCONNECTED", MediaType: "phone", ResourceType: proto.Int64(0),
				DispositionCode: "1000", HangupInitiator: "CUSTOMER", CallHangupReason: "CEC_DISCONNECT_NORMAL",
				CustomerPhone: "+15515557212", TransactionNum: proto.Int64(19738), InboundChannelId: "13125555068",
			},
		}},
		{name: "G_outbound_campaign_assigned_empty_msginfo", line: 7, want: &eventv1.Event{
			Family: "Interaction", EventType: "InteractionAssigned", InteractionId: callG, OrderKey: callG,
			OccurredAt: seconds(1744819092), Source: &eventv1.SourcePosition{SubscriptionId: subs},
			Interaction: &eventv1.InteractionFields{
				CallState: "CS_INPROGRESS", Direction: "out", MediaType: "phone", ResourceType: proto.Int64(0),
				AgentId: "agAglVJkg0TU28dok9y9UQKg", ParticipatingAgents: []string{"agAglVJkg0TU28dok9y9UQKg"},
				QueueId: proto.Int64(1092), QueueName: "Sales Queue", QueueTime: seconds(1744819092),
				CampaignId: proto.Int64(4926), InteractionType: "campaign",
				CustomerPhone: "6298994259", TransactionNum: proto.Int64(279563),
			},
			AttachedData: map[string]string{"@pri": "50", "phoneNum": "6298994259", "tenantSkillName": "Sales Queue"},
		}},
		{name: "H_interaction_rejected_queue_from_queue_list", line: 8, want: &eventv1.Event{
			Family: "Interaction", EventType: "InteractionRejected",
			InteractionId: "int-1963f53a7f9-fRUlBL19w0hsi4GN50Xbcgazp-phone-03-tenant01",
			OrderKey:      "int-1963f53a7f9-fRUlBL19w0hsi4GN50Xbcgazp-phone-03-tenant01",
			OccurredAt:    seconds(1744819218), Source: &eventv1.SourcePosition{SubscriptionId: subs},
			Interaction: &eventv1.InteractionFields{
				CallState: "CS_QUEUED", ResourceType: proto.Int64(0), AgentId: "ag9I1yUNAvRqG7ovVMi3NTyw",
				ParticipatingAgents: []string{"ag9I1yUNAvRqG7ovVMi3NTyw"}, QueueId: proto.Int64(222),
			},
		}},
		{name: "I_line_hold_status", line: 9, want: &eventv1.Event{
			Family: "Interaction", EventType: "LineHoldStatus",
			InteractionId: "int-1963f52d470-OcB3AbajqjTb9ikyLLBxBr1l7-phone-02-tenant01",
			OrderKey:      "int-1963f52d470-OcB3AbajqjTb9ikyLLBxBr1l7-phone-02-tenant01",
			OccurredAt:    seconds(1744819224), Source: &eventv1.SourcePosition{SubscriptionId: subs},
			Interaction: &eventv1.InteractionFields{
				CallState: "CS_HOLD", MediaType: "phone", AgentId: "agGiRMDKqSRGuaNOelIJosUw",
				ParticipatingAgents: []string{"agGiRMDKqSRGuaNOelIJosUw"}, TransactionNum: proto.Int64(429968),
			},
		}},
		{name: "J_recording_status", line: 10, want: &eventv1.Event{
			Family: "Interaction", EventType: "RecordingStatus",
			InteractionId: "int-1963f4d8314-ShlIYL3nayugzbFYJvHhZgPL2-phone-03-tenant01",
			OrderKey:      "int-1963f4d8314-ShlIYL3nayugzbFYJvHhZgPL2-phone-03-tenant01",
			OccurredAt:    seconds(1744819223), Source: &eventv1.SourcePosition{SubscriptionId: subs},
			Interaction: &eventv1.InteractionFields{
				AgentId: "agFDUfx__VREaRSfGYYm5cNw", TransactionNum: proto.Int64(5511),
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := lines[tt.line-1]
			got, err := Decode(frame, "acmecorp01", subs, received)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := proto.Clone(tt.want).(*eventv1.Event)
			want.Tenant = "acmecorp01"
			want.ReceivedAt = timestamppb.New(received)
			want.Raw = frame
			if want.AttachedData == nil {
				want.AttachedData = got.AttachedData // checked field by field elsewhere
			}
			if len(got.DedupKey) != 32 {
				t.Errorf("dedup_key %q, want 32 hex digits", got.DedupKey)
			}
			want.DedupKey = got.DedupKey
			assertEvent(t, got, want)
			if _, err := proto.Marshal(got); err != nil {
				t.Errorf("decoded event does not marshal: %v", err)
			}
		})
	}
	t.Run("A_heartbeat", func(t *testing.T) {
		if _, err := Decode(lines[0], "acmecorp01", subs, received); !errors.Is(err, ErrHeartbeat) {
			t.Fatalf("Decode(ClientCheck) error = %v, want ErrHeartbeat", err)
		}
	})
}

// assertEvent compares two events field by field (protobuf equality), raw
// bytes left out of the printout.
func assertEvent(t *testing.T, got, want *eventv1.Event) {
	t.Helper()
	if proto.Equal(got, want) {
		return
	}
	show := func(ev *eventv1.Event) string {
		ev = proto.Clone(ev).(*eventv1.Event)
		ev.Raw = nil
		return prototext.Format(ev)
	}
	t.Errorf("decoded event mismatch:\n got:\n%s\n want:\n%s", show(got), show(want))
}
