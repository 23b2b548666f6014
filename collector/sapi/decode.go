package sapi

import (
	"bytes"
	"errors"
	"math"
	"time"
	"unicode/utf8"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Root keys with a meaning of their own. Any other root key is passed
// through as its own family.
const (
	familyInteraction = "Interaction"
	familyHeartbeat   = "ClientCheck"
)

// ReasonInvalidUTF8 is the DecodeError reason of a frame that is not valid
// UTF-8.
const ReasonInvalidUTF8 = "invalid utf-8"

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
// frame that is not an event, among them a frame that is not valid UTF-8
// (JSON and SAPI's XML are UTF-8: such a frame is damaged, and its text
// could not be stored as it came). Unknown root keys and unknown event names
// are not errors: they decode with family set to the root key.
func Decode(frame []byte, tenant, subscriptionID string, receivedAt time.Time) (*eventv1.Event, error) {
	if !utf8.Valid(frame) {
		return nil, &DecodeError{Reason: ReasonInvalidUTF8}
	}
	d := getDocument()
	defer d.release()
	root, err := d.parseFrame(frame)
	if err != nil {
		return nil, err
	}
	if root == familyHeartbeat {
		return nil, ErrHeartbeat
	}
	body := d.eventFields()
	ev := &eventv1.Event{
		Tenant:        tenant,
		Family:        root,
		EventType:     d.textOf(body.event),
		InteractionId: d.textOf(body.interactionGUID),
		ReceivedAt:    timestamppb.New(receivedAt),
		Raw:           bytes.Clone(frame),
	}
	if ev.EventType == "" {
		ev.EventType = root
	}
	if root == familyInteraction && ev.InteractionId == "" {
		return nil, &DecodeError{Reason: "interaction without interactionGUID"}
	}
	ev.DedupKey = d.dedupKey(tenant, root)
	agentID := d.textOf(body.agentID)
	ev.OrderKey = orderKey(root, ev.InteractionId, agentID)
	ev.Source = d.sourcePosition(body.msgInfo, subscriptionID)
	ev.OccurredAt = d.occurredAt(&body, receivedAt)
	attached := d.attachedData(body.attachedData)
	if len(attached) > 0 {
		ev.AttachedData = attached
	}
	if root == familyInteraction {
		ev.Interaction = d.interactionFields(&body, agentID, attached)
	}
	return ev, nil
}

// eventObject is node 1 of a parsed frame: the event object, the single
// root key's value.
const eventObject = 1

// parseFrame parses a frame into d and returns its single root key; the
// event object is node eventObject.
func (d *document) parseFrame(frame []byte) (root string, err error) {
	if first := bytes.TrimLeft(frame, " \t\r\n"); len(first) > 0 && first[0] == '<' {
		if err := d.parseXML(frame); err != nil {
			return "", &DecodeError{Reason: "invalid xml", Err: err}
		}
		return internString(d.key(eventObject)), nil
	}
	if err := d.parseJSON(frame); err != nil {
		return "", &DecodeError{Reason: "invalid json", Err: err}
	}
	switch doc := &d.nodes[0]; {
	case doc.kind != kindObject:
		return "", &DecodeError{Reason: "not a json object"}
	case doc.end == 1:
		return "", &DecodeError{Reason: "no root key"}
	case d.nodes[eventObject].end != doc.end:
		return "", &DecodeError{Reason: "more than one root key"}
	case d.nodes[eventObject].kind != kindObject:
		return "", &DecodeError{Reason: "root value is not an object"}
	}
	return internString(d.key(eventObject)), nil
}

// eventFields are the members of the event object that decoding reads, as
// node indexes (absent when missing). A repeated key counts with its last
// occurrence, as with get.
type eventFields struct {
	event, interactionGUID, agentID, msgInfo, attachedData               int
	interactionEventTS, eventTS, statusEventTS                           int
	callState, direction, mediaType, participatingAgents, queueTime      int
	dispositionCode, hangupInitiator, callHangupReason, inboundChannelID int
	resourceType, queueID, queueList, outboundCampaignID, transactionNum int
}

// eventFields finds the fields in one pass over the event object, instead of
// one scan of its members per field.
func (d *document) eventFields() eventFields {
	var f eventFields
	for c := eventObject + 1; c < d.nodes[eventObject].end; c = d.nodes[c].end {
		switch string(d.key(c)) {
		case "event":
			f.event = c
		case "interactionGUID":
			f.interactionGUID = c
		case "agentId":
			f.agentID = c
		case "msgInfo":
			f.msgInfo = c
		case "attachedData":
			f.attachedData = c
		case "interactionEventTS":
			f.interactionEventTS = c
		case "eventTS":
			f.eventTS = c
		case "statusEventTS":
			f.statusEventTS = c
		case "callState":
			f.callState = c
		case "direction":
			f.direction = c
		case "mediaType":
			f.mediaType = c
		case "participatingAgents":
			f.participatingAgents = c
		case "queueTime":
			f.queueTime = c
		case "dispositionCode":
			f.dispositionCode = c
		case "hangupInitiator":
			f.hangupInitiator = c
		case "callHangupReason":
			f.callHangupReason = c
		case "inboundChannelid":
			f.inboundChannelID = c
		case "resourceType":
			f.resourceType = c
		case "queueId":
			f.queueID = c
		case "queueList":
			f.queueList = c
		case "outboundCampaignid":
			f.outboundCampaignID = c
		case "transactionNum":
			f.transactionNum = c
		}
	}
	return f
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
func (d *document) sourcePosition(msgInfo int, subscriptionID string) *eventv1.SourcePosition {
	src := &eventv1.SourcePosition{
		InstanceId:     d.textOf(d.get(msgInfo, "instanceId")),
		SubscriptionId: subscriptionID,
	}
	if seq, ok := d.intOf(d.get(msgInfo, "sequenceId")); ok {
		src.SequenceId = seq
	}
	src.Timestamp = d.epochMillis(d.get(msgInfo, "timestamp"))
	return src
}

// occurredAt picks the 8x8 event time: interactionEventTS, else eventTS,
// else statusEventTS (epoch seconds), else msgInfo.timestamp (epoch
// milliseconds), else receivedAt.
func (d *document) occurredAt(body *eventFields, receivedAt time.Time) *timestamppb.Timestamp {
	for _, field := range [...]int{body.interactionEventTS, body.eventTS, body.statusEventTS} {
		if ts := d.epochSeconds(field); ts != nil {
			return ts
		}
	}
	if ts := d.epochMillis(d.get(body.msgInfo, "timestamp")); ts != nil {
		return ts
	}
	return timestamppb.New(receivedAt)
}

// maxEpochSeconds is the last second of year 9999, the end of the range a
// protobuf Timestamp can hold.
const maxEpochSeconds = 253402300799

// epochSeconds reads a positive epoch-seconds value (number or string,
// fractions kept), or returns nil.
func (d *document) epochSeconds(i int) *timestamppb.Timestamp {
	f, ok := d.floatOf(i)
	if !ok || f <= 0 || f > maxEpochSeconds {
		return nil
	}
	sec, frac := math.Modf(f)
	return timestamppb.New(time.Unix(int64(sec), int64(frac*1e9)))
}

// epochMillis reads a positive epoch-milliseconds value, or returns nil.
func (d *document) epochMillis(i int) *timestamppb.Timestamp {
	f, ok := d.floatOf(i)
	if !ok || f <= 0 || f > maxEpochSeconds*1000 {
		return nil
	}
	return timestamppb.New(time.UnixMilli(int64(f)))
}
