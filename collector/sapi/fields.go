package sapi

import (
	"strings"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/proto"
)

// attachedData flattens attachedData.attachedDatum to key -> text. A
// one-element list may arrive as a bare object instead of an array. A key
// that repeats keeps its last value.
//
// All keys and values are cut from one string: the map lives and dies with
// its event, and one allocation replaces one per text.
func (d *document) attachedData(attachedData int) map[string]string {
	list := d.get(attachedData, "attachedDatum")
	if list == absent {
		return nil
	}
	d.pairs, d.strs = d.pairs[:0], d.strs[:0]
	add := func(datum int) {
		if key := d.rawText(d.get(datum, "attachedDataKey")); len(key) > 0 {
			value := d.rawText(d.get(datum, "attachedDataValue"))
			d.pairs = append(d.pairs, [2]int{len(key), len(value)})
			d.strs = append(append(d.strs, key...), value...)
		}
	}
	switch d.nodes[list].kind {
	case kindArray:
		for c := list + 1; c < d.nodes[list].end; c = d.nodes[c].end {
			add(c)
		}
	case kindObject:
		add(list)
	}
	data := make(map[string]string, len(d.pairs))
	texts := string(d.strs)
	for _, p := range d.pairs {
		key, value := texts[:p[0]], texts[p[0]:p[0]+p[1]]
		texts = texts[p[0]+p[1]:]
		data[key] = value
	}
	return data
}

// interactionFields maps the typed Interaction fields, each from the source
// its event.proto comment names. Texts taken from attached data are copied:
// typed fields outlive the event in per-interaction caches, where a slice of
// the attached data would keep all of it alive.
func (d *document) interactionFields(body *eventFields, agentID string, attached map[string]string) *eventv1.InteractionFields {
	f := &eventv1.InteractionFields{
		CallState:             d.textOf(body.callState),
		Direction:             d.textOf(body.direction),
		MediaType:             d.textOf(body.mediaType),
		AgentId:               agentID,
		ParticipatingAgents:   d.splitAgents(body.participatingAgents, nil),
		QueueName:             ownString(attached["tenantSkillName"]),
		QueueTime:             d.epochSeconds(body.queueTime),
		CampaignName:          ownString(attached["campName"]),
		DispositionCode:       d.textOf(body.dispositionCode),
		CustomerPhone:         ownString(firstNonEmpty(attached["remotePhoneNum"], attached["phoneNum"], attached["pho"])),
		HangupInitiator:       d.textOf(body.hangupInitiator),
		CallHangupReason:      d.textOf(body.callHangupReason),
		OriginalInteractionId: ownString(attached["originalInteractionGuid"]),
		TclSelectedItems:      ownString(attached["tclSelectedItems"]),
		InboundChannelId:      inboundChannel(d.textOf(body.inboundChannelID)),
	}
	if f.Direction == "" {
		f.Direction = ownString(attached["queueDirection"])
	}
	if n, ok := d.intOf(body.resourceType); ok {
		f.ResourceType = proto.Int64(n)
	}
	f.QueueId = d.queueID(body)
	f.CampaignId = d.campaignID(body, attached)
	if n, ok := d.intOf(body.transactionNum); ok {
		f.TransactionNum = proto.Int64(n)
	} else if n, ok := parseWhole(attached["tok"]); ok {
		f.TransactionNum = proto.Int64(n)
	}
	f.InteractionType = ownString(attached["ctl_transType"])
	if f.InteractionType == "" && f.CampaignId != nil {
		f.InteractionType = "campaign"
	}
	return f
}

// ownString returns s as a string of its own: the interned name when s is
// one, else a copy.
func ownString(s string) string {
	if name, ok := sapiNames[s]; ok {
		return name
	}
	return strings.Clone(s)
}

// queueID is queueId, else queueList when it holds a single number.
func (d *document) queueID(body *eventFields) *int64 {
	if n, ok := d.intOf(body.queueID); ok {
		return proto.Int64(n)
	}
	list := body.queueList
	if list != absent && d.nodes[list].kind == kindArray && d.count(list) == 1 {
		list++ // the only item
	}
	if n, ok := d.intOf(list); ok {
		return proto.Int64(n)
	}
	return nil
}

// campaignID is outboundCampaignid when non-zero, else attached campId.
func (d *document) campaignID(body *eventFields, attached map[string]string) *int64 {
	if n, ok := d.intOf(body.outboundCampaignID); ok && n != 0 {
		return proto.Int64(n)
	}
	if n, ok := parseWhole(attached["campId"]); ok {
		return proto.Int64(n)
	}
	return nil
}

// inboundChannel is inboundChannelid, empty when 8x8 sends "N/A" (outbound).
func inboundChannel(text string) string {
	s := strings.TrimSpace(text)
	if strings.EqualFold(s, "N/A") {
		return ""
	}
	return s
}

// splitAgents appends the ids of participatingAgents to ids: 8x8 separates
// them with "," or ";" (both occur), blanks around them are trimmed. An
// array of ids is accepted too.
func (d *document) splitAgents(i int, ids []string) []string {
	if i == absent {
		return ids
	}
	if d.nodes[i].kind == kindArray {
		for c := i + 1; c < d.nodes[i].end; c = d.nodes[c].end {
			ids = d.splitAgents(c, ids)
		}
		return ids
	}
	text := d.textOf(i)
	for len(text) > 0 {
		end := strings.IndexAny(text, ",;")
		if end < 0 {
			end = len(text)
		}
		if id := strings.TrimSpace(text[:end]); id != "" {
			ids = append(ids, id)
		}
		text = text[min(end+1, len(text)):]
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
