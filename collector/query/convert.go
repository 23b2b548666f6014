package query

import (
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var deliveryStates = map[timeline.State]queryv1.DeliveryState{
	timeline.StatePending:      queryv1.DeliveryState_DELIVERY_STATE_PENDING,
	timeline.StateInDelivery:   queryv1.DeliveryState_DELIVERY_STATE_IN_DELIVERY,
	timeline.StateRetrying:     queryv1.DeliveryState_DELIVERY_STATE_RETRYING,
	timeline.StateDelivered:    queryv1.DeliveryState_DELIVERY_STATE_DELIVERED,
	timeline.StateSkipped:      queryv1.DeliveryState_DELIVERY_STATE_SKIPPED,
	timeline.StateDeadLettered: queryv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED,
}

var changeTypes = map[timeline.ChangeType]queryv1.ChangeType{
	timeline.ChangeReceived:     queryv1.ChangeType_CHANGE_TYPE_RECEIVED,
	timeline.ChangeDispatched:   queryv1.ChangeType_CHANGE_TYPE_DISPATCHED,
	timeline.ChangeRetrying:     queryv1.ChangeType_CHANGE_TYPE_RETRYING,
	timeline.ChangeDelivered:    queryv1.ChangeType_CHANGE_TYPE_DELIVERED,
	timeline.ChangeSkipped:      queryv1.ChangeType_CHANGE_TYPE_SKIPPED,
	timeline.ChangeDeadLettered: queryv1.ChangeType_CHANGE_TYPE_DEAD_LETTERED,
	timeline.ChangeReplayed:     queryv1.ChangeType_CHANGE_TYPE_REPLAYED,
}

func verdictMessage(v eventstore.Verdict) queryv1.DedupVerdict {
	switch v {
	case eventstore.VerdictNew:
		return queryv1.DedupVerdict_DEDUP_VERDICT_NEW
	case eventstore.VerdictDuplicatePending:
		return queryv1.DedupVerdict_DEDUP_VERDICT_DUPLICATE_PENDING
	case eventstore.VerdictDuplicate:
		return queryv1.DedupVerdict_DEDUP_VERDICT_DUPLICATE
	}
	return queryv1.DedupVerdict_DEDUP_VERDICT_UNSPECIFIED
}

func interactionMessage(in timeline.Interaction) *queryv1.Interaction {
	c := in.Counts
	return &queryv1.Interaction{
		Name:            interactionName(in.Tenant, in.ID),
		InteractionId:   in.ID,
		PhoneNumber:     in.Phone,
		CampaignId:      in.CampaignID,
		CampaignName:    in.CampaignName,
		QueueId:         in.QueueID,
		QueueName:       in.QueueName,
		AgentIds:        in.Agents,
		InteractionType: in.Type,
		Direction:       in.Direction,
		MediaType:       in.MediaType,
		CreateTime:      timestamp(in.First),
		UpdateTime:      timestamp(in.Last),
		LastEventType:   in.LastEventType,
		TraceId:         in.TraceID,
		Counts: &queryv1.DeliveryCounts{
			Events: int32(c.Events), Pending: int32(c.Pending), InDelivery: int32(c.InDelivery),
			Retrying: int32(c.Retrying), Delivered: int32(c.Delivered), Skipped: int32(c.Skipped),
			DeadLettered: int32(c.DeadLettered), Duplicates: int32(c.Duplicates),
		},
	}
}

// eventMessage renders a stored event; history is included when asked.
func (s *Service) eventMessage(e timeline.Event, withHistory bool) *queryv1.Event {
	interaction := e.Interaction
	if interaction == "" {
		interaction = e.Event.GetInteractionId()
	}
	st := e.State
	m := &queryv1.Event{
		Name:        eventName(e.Tenant, e.ID),
		Interaction: interactionName(e.Tenant, interaction),
		PhoneNumber: e.Dims.Phone,
		Dedup:       &queryv1.Dedup{Sightings: int32(st.Sightings), LastDuplicateTime: timestamp(st.LastDuplicate)},
		Delivery: &queryv1.Delivery{
			State: deliveryStates[st.State], UpdateTime: timestamp(st.At), RegalStatus: int32(st.RegalStatus),
			Attempts: int32(st.Attempts), Reason: st.Reason, Dispatcher: st.Dispatcher, Replays: int32(st.Replays),
		},
	}
	s.fillEventFields(m, e.Event, e.RawTruncated)
	if withHistory {
		for _, h := range e.History {
			m.History = append(m.History, changeMessage(h))
		}
	}
	return m
}

// fillEventFields sets what comes from the normalized event itself.
func (s *Service) fillEventFields(m *queryv1.Event, ev *eventv1.Event, truncated bool) {
	if ev == nil {
		return
	}
	m.EventType = ev.GetEventType()
	m.OccurTime = ev.GetOccurredAt()
	m.ReceiveTime = ev.GetReceivedAt()
	m.TraceId = timeline.TraceID(ev)
	raw := ev.GetRaw()
	if limit := s.tl.Config().RawMaxBytes; len(raw) > limit {
		raw, truncated = raw[:limit], true
	}
	m.Raw = strings.ToValidUTF8(string(raw), "\uFFFD")
	m.RawTruncated = truncated
	normalized := proto.Clone(ev).(*eventv1.Event)
	normalized.Raw = nil
	m.Normalized = normalized
}

func changeMessage(c timeline.Change) *queryv1.EventChange {
	return &queryv1.EventChange{
		Type: changeTypes[c.Type], Time: timestamp(c.At), DedupVerdict: verdictMessage(c.Verdict),
		RegalStatus: int32(c.RegalStatus), Attempts: int32(c.Attempts), Reason: c.Reason,
		Dispatcher: c.Dispatcher, Redelivery: int32(c.Redelivery),
	}
}

// deadLetterID names a dead letter within its tenant: "<partition>-<id>".
func deadLetterID(d eventstore.DeadEntry) string {
	return itoa(d.Partition) + "-" + d.ID
}

func (s *Service) deadLetterMessage(d eventstore.DeadEntry) *queryv1.DeadLetter {
	ev := s.eventMessage(timeline.Event{Tenant: d.Tenant, ID: d.Event.GetDedupKey(), Event: d.Event,
		State: timeline.EventState{State: timeline.StateDeadLettered, At: d.At, RegalStatus: d.Status,
			Attempts: d.Attempts, Reason: d.Reason}}, false)
	ev.Dedup = nil
	return &queryv1.DeadLetter{
		Name: deadLetterName(d.Tenant, deadLetterID(d)), Event: ev, Reason: d.Reason,
		Attempts: int32(d.Attempts), RegalStatus: int32(d.Status), DeadLetterTime: timestamp(d.At),
		HoldsInteraction: d.Holds,
	}
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
