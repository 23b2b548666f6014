package query

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// queryOf validates a Filter and turns it into a timeline query.
func (s *Service) queryOf(f *queryv1.Filter) (timeline.Query, error) {
	var q timeline.Query
	if p := f.GetPhoneNumber(); p != "" {
		e164, err := s.tl.NormalizePhone(p)
		if err != nil {
			return q, invalid("filter.phone_number is not a valid phone number (use E.164, e.g. +15515550123)")
		}
		q.Phone = e164
	}
	if f.GetCampaignId() < 0 || f.GetQueueId() < 0 {
		return q, invalid("filter.campaign_id and filter.queue_id must not be negative")
	}
	q.CampaignID, q.QueueID, q.AgentID = f.GetCampaignId(), f.GetQueueId(), f.GetAgentId()
	var err error
	if q.Start, err = timeOf(f.GetStartTime(), "filter.start_time"); err != nil {
		return q, err
	}
	if q.End, err = timeOf(f.GetEndTime(), "filter.end_time"); err != nil {
		return q, err
	}
	if !q.Start.IsZero() && !q.End.IsZero() && !q.End.After(q.Start) {
		return q, invalid("filter.end_time must be after filter.start_time")
	}
	return q, nil
}

func timeOf(ts *timestamppb.Timestamp, field string) (t time.Time, err error) {
	if ts == nil {
		return t, nil
	}
	if err := ts.CheckValid(); err != nil {
		return t, invalid(field + " is not a valid timestamp")
	}
	return ts.AsTime(), nil
}

func statusFilterOf(s queryv1.InteractionStatusFilter) (timeline.StatusFilter, error) {
	switch s {
	case queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_UNSPECIFIED:
		return timeline.AnyStatus, nil
	case queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_DEAD_LETTERS:
		return timeline.HasDeadLetters, nil
	case queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_UNSETTLED:
		return timeline.HasUnsettled, nil
	}
	return 0, invalid("status is not a known InteractionStatusFilter")
}

func stateFilterOf(s queryv1.DeliveryState) (timeline.State, error) {
	if s == queryv1.DeliveryState_DELIVERY_STATE_UNSPECIFIED {
		return 0, nil
	}
	for st, api := range deliveryStates {
		if api == s {
			return st, nil
		}
	}
	return 0, invalid("delivery_state is not a known DeliveryState")
}
