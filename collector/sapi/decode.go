package sapi

import (
	"bytes"
	"errors"
	"math"
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Root keys with a meaning of their own. Any other root key is passed
// through as its own family.
const (
	familyInteraction = "Interaction"
	familyHeartbeat   = "ClientCheck"
)

// ErrHeartbeat is returned by Decode for a ClientCheck heartbeat: proof the
// stream is alive, not an event.
var ErrHeartbeat = errors.New("sapi: heartbeat (ClientCheck)")

// DecodeError reports a frame that is not an SAPI event. Reason is short and
// stable enough to label a metric, e.g. "invalid json" or "no root key".
type DecodeError struct {
	// Reason is a short fixed phrase, usable as a metric label.
	Reason string
	// Err is the underlying parse error, if any.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Err != nil {
		return "sapi: decode: " + e.Reason + ": " + e.Err.Error()
	}
	return "sapi: decode: " + e.Reason
}

// Unwrap returns the underlying parse error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode turns one frame (JSON, or XML when it starts with "<") into a
// normalized Event following the field contract of event.proto.
//
// tenant is the bridge's name for the tenant and subscriptionID the subsId the
// frame was read on; neither is taken from the payload. receivedAt is when
// the frame came off the stream. The frame is copied into Event.Raw, so the
// caller may reuse it.
//
// Decode returns ErrHeartbeat for a ClientCheck and a *DecodeError for a
// frame that is not an event. Unknown root keys and unknown event names are
// not errors: they decode with family set to the root key.
func Decode(frame []byte, tenant, subscriptionID string, receivedAt time.Time) (*eventv1.Event, error) {
	root, body, err := parseFrame(frame)
	if err != nil {
		return nil, err
	}
	if root == familyHeartbeat {
		return nil, ErrHeartbeat
	}
	ev := &eventv1.Event{
		Tenant:        tenant,
		Family:        root,
		EventType:     textOf(body.get("event")),
		InteractionId: textOf(body.get("interactionGUID")),
		ReceivedAt:    timestamppb.New(receivedAt),
		Raw:           bytes.Clone(frame),
	}
	if ev.EventType == "" {
		ev.EventType = root
	}
	if root == familyInteraction && ev.InteractionId == "" {
		return nil, &DecodeError{Reason: "interaction without interactionGUID"}
	}
	ev.DedupKey = dedupKey(tenant, root, &body)
	ev.OrderKey = orderKey(root, ev.InteractionId, textOf(body.get("agentId")))
	msgInfo := body.get("msgInfo")
	ev.Source = sourcePosition(msgInfo, subscriptionID)
	ev.OccurredAt = occurredAt(&body, msgInfo, receivedAt)
	attached := attachedData(&body)
	if len(attached) > 0 {
		ev.AttachedData = attached
	}
	if root == familyInteraction {
		ev.Interaction = interactionFields(&body, attached)
	}
	return ev, nil
}

// parseFrame parses a frame and unwraps its single root key.
func parseFrame(frame []byte) (root string, body value, err error) {
	if first := bytes.TrimLeft(frame, " \t\r\n"); len(first) > 0 && first[0] == '<' {
		root, body, err := parseXML(frame)
		if err != nil {
			return "", value{}, &DecodeError{Reason: "invalid xml", Err: err}
		}
		return root, body, nil
	}
	doc, err := parseJSON(frame)
	if err != nil {
		return "", value{}, &DecodeError{Reason: "invalid json", Err: err}
	}
	switch {
	case doc.kind != kindObject:
		return "", value{}, &DecodeError{Reason: "not a json object"}
	case len(doc.members) == 0:
		return "", value{}, &DecodeError{Reason: "no root key"}
	case len(doc.members) > 1:
		return "", value{}, &DecodeError{Reason: "more than one root key"}
	case doc.members[0].val.kind != kindObject:
		return "", value{}, &DecodeError{Reason: "root value is not an object"}
	}
	return doc.members[0].key, doc.members[0].val, nil
}

// orderKey groups the events that must stay in order: one interaction, else
// one agent, else one family.
func orderKey(root, interactionID, agentID string) string {
	switch {
	case interactionID != "":
		return interactionID
	case agentID != "":
		return "agent:" + agentID
	default:
		return "family:" + root
	}
}

// sourcePosition maps msgInfo; it always records the subscription, even when
// msgInfo is absent or "{}".
func sourcePosition(msgInfo *value, subscriptionID string) *eventv1.SourcePosition {
	src := &eventv1.SourcePosition{
		InstanceId:     textOf(msgInfo.get("instanceId")),
		SubscriptionId: subscriptionID,
	}
	if seq, ok := intOf(msgInfo.get("sequenceId")); ok {
		src.SequenceId = seq
	}
	src.Timestamp = epochMillis(msgInfo.get("timestamp"))
	return src
}

// occurredAt picks the 8x8 event time: interactionEventTS, else eventTS,
// else statusEventTS (epoch seconds), else msgInfo.timestamp (epoch
// milliseconds), else receivedAt.
func occurredAt(body, msgInfo *value, receivedAt time.Time) *timestamppb.Timestamp {
	for _, field := range []string{"interactionEventTS", "eventTS", "statusEventTS"} {
		if ts := epochSeconds(body.get(field)); ts != nil {
			return ts
		}
	}
	if ts := epochMillis(msgInfo.get("timestamp")); ts != nil {
		return ts
	}
	return timestamppb.New(receivedAt)
}

// maxEpochSeconds is the last second of year 9999, the end of the range a
// protobuf Timestamp can hold.
const maxEpochSeconds = 253402300799

// epochSeconds reads a positive epoch-seconds value (number or string,
// fractions kept), or returns nil.
func epochSeconds(v *value) *timestamppb.Timestamp {
	f, ok := floatOf(v)
	if !ok || f <= 0 || f > maxEpochSeconds {
		return nil
	}
	sec, frac := math.Modf(f)
	return timestamppb.New(time.Unix(int64(sec), int64(frac*1e9)))
}

// epochMillis reads a positive epoch-milliseconds value, or returns nil.
func epochMillis(v *value) *timestamppb.Timestamp {
	f, ok := floatOf(v)
	if !ok || f <= 0 || f > maxEpochSeconds*1000 {
		return nil
	}
	return timestamppb.New(time.UnixMilli(int64(f)))
}
