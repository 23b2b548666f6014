package translate

import eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"

// properties builds the Regal properties of an interaction event. A
// property is present only when the event carries its source field.
// Numbers are int64 so that they encode as JSON numbers: Regal fixes a
// property's type on first write.
func properties(ev *eventv1.Event, dispositionNames bool) map[string]any {
	in := ev.GetInteraction()
	props := make(map[string]any, 13)
	addString(props, "interaction_id", ev.GetInteractionId())
	addString(props, "interaction_type", in.GetInteractionType())
	addString(props, "interaction_direction", in.GetDirection())
	addString(props, "media_type", in.GetMediaType())
	if in != nil && in.CampaignId != nil {
		props["campaign_id"] = *in.CampaignId
	}
	addString(props, "campaign_name", in.GetCampaignName())
	if in != nil && in.QueueId != nil {
		props["queue_id"] = *in.QueueId
	}
	addString(props, "queue_name", in.GetQueueName())
	if qt := in.GetQueueTime(); qt != nil {
		props["queue_time"] = qt.GetSeconds()
	}
	addString(props, "agent_id", in.GetAgentId())
	addDisposition(props, in.GetDispositionCode(), dispositionNames)
	return props
}

// addString sets key to value unless value is empty.
func addString(props map[string]any, key, value string) {
	if value != "" {
		props[key] = value
	}
}
