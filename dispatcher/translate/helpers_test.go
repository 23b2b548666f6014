package translate_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/dispatcher/regal"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

const (
	seedCampaignName = "Form Submission - High Net Worth: 3 Attempts"
	seedQueueName    = "New Form - High Net Worth"
	seedAgentID      = "agyQDfU5k6SMKy8bv8vOXTGg"
	firstCallID      = "int-1918f43ff2b-3AGMeob4DFLnS6Ubya5YMycm3-phone-01-regalvoice2demo01"
	secondCallID     = "int-1918f5479f8-4FEw21tGFaGc1H2JshT8TJPjR-phone-01-regalvoice2demo01"
	customerE164     = "+15515557212"
)

// interactionEvent is a normalized SAPI Interaction event of the given
// type, occurring at the given epoch second, with the fields set by fill.
func interactionEvent(eventType, interactionID string, occurredAt int64, fill func(*eventv1.InteractionFields)) *eventv1.Event {
	fields := &eventv1.InteractionFields{}
	if fill != nil {
		fill(fields)
	}
	return &eventv1.Event{
		Tenant:        "regalvoice2demo01",
		InteractionId: interactionID,
		Family:        "Interaction",
		EventType:     eventType,
		OccurredAt:    timestamppb.New(time.Unix(occurredAt, 0)),
		ReceivedAt:    timestamppb.New(time.Unix(occurredAt, 250_000_000)),
		OrderKey:      interactionID,
		Interaction:   fields,
	}
}

// decodeJSON decodes data keeping numbers as json.Number, so that 61,
// 61.0 and "61" all differ.
func decodeJSON(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// wireJSON is ev as sent to Regal, decoded generically.
func wireJSON(t testing.TB, ev *regal.Event) map[string]any {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	return decodeJSON(t, data).(map[string]any)
}

// withPhone returns a copy of ev whose customer phone is phone.
func withPhone(ev *eventv1.Event, phone string) *eventv1.Event {
	ev = proto.Clone(ev).(*eventv1.Event)
	ev.Interaction.CustomerPhone = phone
	return ev
}

// timestamp is an epoch second as a protobuf timestamp.
func timestamp(sec int64) *timestamppb.Timestamp { return timestamppb.New(time.Unix(sec, 0)) }

// formatUnix is Regal's originalTimestamp of an epoch second.
func formatUnix(sec int64) string {
	return time.Unix(sec, 0).UTC().Format(time.DateTime) + " +00:00"
}
