package sapi

import (
	"strings"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/proto"
)

// attachedData flattens attachedData.attachedDatum to key -> text. A
// one-element list may arrive as a bare object instead of an array. A key
// that repeats keeps its last value.
func attachedData(body *value) map[string]string {
	list := body.get("attachedData").get("attachedDatum")
	if list == nil {
		return nil
	}
	data := make(map[string]string, len(list.items))
	add := func(datum *value) {
		if key := textOf(datum.get("attachedDataKey")); key != "" {
			data[key] = textOf(datum.get("attachedDataValue"))
		}
	}
	switch list.kind {
	case kindArray:
		for i := range list.items {
			add(&list.items[i])
		}
	case kindObject:
		add(list)
	}
	return data
}

// interactionFields maps the typed Interaction fields, each from the source
// its event.proto comment names.
func interactionFields(body *value, attached map[string]string) *eventv1.InteractionFields {
	f := &eventv1.InteractionFields{
		CallState:             textOf(body.get("callState")),
		Direction:             firstNonEmpty(textOf(body.get("direction")), attached["queueDirection"]),
		MediaType:             textOf(body.get("mediaType")),
		AgentId:               textOf(body.get("agentId")),
		ParticipatingAgents:   splitAgents(body.get("participatingAgents")),
		QueueName:             attached["tenantSkillName"],
		QueueTime:             epochSeconds(body.get("queueTime")),
		CampaignName:          attached["campName"],
		DispositionCode:       textOf(body.get("dispositionCode")),
		CustomerPhone:         firstNonEmpty(attached["remotePhoneNum"], attached["phoneNum"], attached["pho"]),
		HangupInitiator:       textOf(body.get("hangupInitiator")),
		CallHangupReason:      textOf(body.get("callHangupReason")),
		OriginalInteractionId: attached["originalInteractionGuid"],
		TclSelectedItems:      attached["tclSelectedItems"],
		InboundChannelId:      inboundChannel(body.get("inboundChannelid")),
	}
	if n, ok := intOf(body.get("resourceType")); ok {
		f.ResourceType = proto.Int64(n)
	}
	f.QueueId = queueID(body)
	f.CampaignId = campaignID(body, attached)
	if n, ok := intOf(body.get("transactionNum")); ok {
		f.TransactionNum = proto.Int64(n)
	} else if n, ok := parseWhole(attached["tok"]); ok {
		f.TransactionNum = proto.Int64(n)
	}
	f.InteractionType = attached["ctl_transType"]
	if f.InteractionType == "" && f.CampaignId != nil {
		f.InteractionType = "campaign"
	}
	return f
}

// queueID is queueId, else queueList when it holds a single number.
func queueID(body *value) *int64 {
	if n, ok := intOf(body.get("queueId")); ok {
		return proto.Int64(n)
	}
	list := body.get("queueList")
	if list != nil && list.kind == kindArray && len(list.items) == 1 {
		list = &list.items[0]
	}
	if n, ok := intOf(list); ok {
		return proto.Int64(n)
	}
	return nil
}

// campaignID is outboundCampaignid when non-zero, else attached campId.
func campaignID(body *value, attached map[string]string) *int64 {
	if n, ok := intOf(body.get("outboundCampaignid")); ok && n != 0 {
		return proto.Int64(n)
	}
	if n, ok := parseWhole(attached["campId"]); ok {
		return proto.Int64(n)
	}
	return nil
}

// inboundChannel is inboundChannelid, empty when 8x8 sends "N/A" (outbound).
func inboundChannel(v *value) string {
	s := strings.TrimSpace(textOf(v))
	if strings.EqualFold(s, "N/A") {
		return ""
	}
	return s
}

// splitAgents splits participatingAgents on "," or ";" (8x8 uses both),
// trimming blanks. An array of ids is accepted too.
func splitAgents(v *value) []string {
	if v == nil {
		return nil
	}
	if v.kind == kindArray {
		var ids []string
		for i := range v.items {
			ids = append(ids, splitAgents(&v.items[i])...)
		}
		return ids
	}
	var ids []string
	for _, id := range strings.FieldsFunc(textOf(v), func(r rune) bool { return r == ',' || r == ';' }) {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
