package timeline

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// summaryFields are the summary fields a new event sets.
func summaryFields(ev *eventv1.Event, d Dims, at int64) []any {
	f := ev.GetInteraction()
	out := []any{fLast, at, fLastType, ev.GetEventType()}
	set := func(field, value string) {
		if value != "" {
			out = append(out, field, value)
		}
	}
	if d.Phone != "" {
		out = append(out, fPhone, d.Phone, pPhone+d.Phone, "1")
	}
	if d.CampaignID != 0 {
		id := strconv.FormatInt(d.CampaignID, 10)
		out = append(out, fCampaignID, id, pCampaign+id, "1")
	}
	if d.QueueID != 0 {
		id := strconv.FormatInt(d.QueueID, 10)
		out = append(out, fQueueID, id, pQueue+id, "1")
	}
	for _, a := range d.Agents {
		out = append(out, pAgent+a, "1")
	}
	set(fCampaignName, f.GetCampaignName())
	set(fQueueName, f.GetQueueName())
	set(fType, f.GetInteractionType())
	set(fDirection, f.GetDirection())
	set(fMediaType, f.GetMediaType())
	return out
}

// encodeRecord encodes the event of a Received change within the size
// bounds: raw cut at RawMaxBytes; above twice that, attached data dropped;
// above that still, only the identifying fields kept.
func (s *Store) encodeRecord(c *Change, d Dims) []byte {
	limit := s.cfg.RawMaxBytes
	payload := c.Payload
	truncated := false
	if payload == nil || len(c.Event.GetRaw()) > limit || len(payload) > 2*limit {
		ev := proto.Clone(c.Event).(*eventv1.Event)
		if len(ev.Raw) > limit {
			ev.Raw, truncated = ev.Raw[:limit], true
		}
		payload, _ = proto.Marshal(ev)
		if len(payload) > 2*limit {
			ev.AttachedData, truncated = nil, true
			payload, _ = proto.Marshal(ev)
		}
		if len(payload) > 2*limit {
			payload, _ = proto.Marshal(identifyingFields(ev))
		}
	}
	return eventRecord{event: payload, dims: d, rawTruncated: truncated}.encode()
}

// identifyingFields is the least of an event worth keeping.
func identifyingFields(ev *eventv1.Event) *eventv1.Event {
	return &eventv1.Event{Tenant: ev.GetTenant(), InteractionId: ev.GetInteractionId(), Family: ev.GetFamily(),
		EventType: ev.GetEventType(), OccurredAt: ev.GetOccurredAt(), ReceivedAt: ev.GetReceivedAt(),
		DedupKey: ev.GetDedupKey(), OrderKey: ev.GetOrderKey(), Source: ev.GetSource(), Raw: ev.GetRaw(),
		TraceContext: map[string]string{"traceparent": ev.GetTraceContext()["traceparent"]}}
}
