package scenario

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Call is one scripted flow: its events in the order SAPI sends them.
type Call struct {
	// Name is the flow, e.g. FlowInboundAnswered.
	Name string
	// InteractionID is the interactionGUID of every event; empty for agent
	// flows.
	InteractionID string
	// Phone is the customer's number in E.164 form (remotePhoneNum); empty
	// for agent flows.
	Phone string
	// LinkedInteractionIDs are further interactionGUIDs of the same
	// customer call (a transfer's second leg), in creation order.
	LinkedInteractionIDs []string
	// Events are raw SAPI JSON events, one object each, without msgInfo.
	Events [][]byte
}

// call holds what every event of one interaction shares.
type call struct {
	r        *rand.Rand
	tenant   string
	guid     string
	tok      int64
	customer customer
	clock    time.Time
}

func newCall(r *rand.Rand, tenant string, start time.Time) *call {
	return &call{
		r:        r,
		tenant:   tenant,
		guid:     interactionGUID(r, tenant, start),
		tok:      10_000 + r.Int64N(990_000),
		customer: newCustomer(r),
		clock:    start.Truncate(time.Second),
	}
}

// after advances the call's clock by a random number of seconds in
// [low, high] and returns the new epoch second.
func (c *call) after(low, high int) int64 {
	c.clock = c.clock.Add(time.Duration(low+c.r.IntN(high-low+1)) * time.Second)
	return c.clock.Unix()
}

// event builds one Interaction event of the call at epoch second ts; an
// eventTS inherited from an earlier event's fields is moved to ts too.
func (c *call) event(name, state string, ts int64, f fields) []byte {
	out := with(f, fields{"event": name, "interactionEventTS": ts, "interactionGUID": c.guid, "resourceType": 0})
	if _, ok := out["eventTS"]; ok {
		out["eventTS"] = ts
	}
	if state != "" {
		out["callState"] = state
	}
	return encode("Interaction", out)
}

// customerData are the attachedData entries about the caller.
func (c *call) customerData() []datum {
	return []datum{
		{"phoneNum", c.customer.digits},
		{"remotePhoneNum", c.customer.e164()},
		{"tok", c.tok},
	}
}

func (c *call) result(name string, events ...[]byte) Call {
	return Call{Name: name, InteractionID: c.guid, Phone: c.customer.e164(), Events: events}
}

// InboundAnswered is an inbound call queued, answered by an agent, wrapped
// up with a disposition and ended: InteractionCreated, InteractionQueued,
// InteractionAssigned, InteractionAccepted, InteractionPostProcess,
// InteractionEndPostProcess, InteractionDeassigned, InteractionDeleted.
func InboundAnswered(r *rand.Rand, tenant string, start time.Time) Call {
	c := newCall(r, tenant, start)
	agent := Agents[r.IntN(len(Agents))]
	agentData := agentFields(r, tenant, agent)
	disposition := []int{DispositionNone, DispositionScheduleCallback}[r.IntN(2)]
	wrapUp := strconv.Itoa(5+r.IntN(4)) + "|" + strconv.Itoa(10+r.IntN(90)) + "," + strconv.Itoa(5+r.IntN(4)) + "|" + strconv.Itoa(10+r.IntN(90))

	callerData := append(c.customerData(),
		datum{"@pri", 100}, datum{"callingName", c.customer.name}, datum{"cha", inboundChannelID},
		datum{"cnt", 0}, datum{"con", 0}, datum{"med", "T"}, datum{"pho", c.customer.digits},
		datum{"remoteCallingName", c.customer.name})
	created := c.clock.Unix()
	queuedAt := c.after(1, 9)
	queuedData := append(callerData,
		datum{"channelName", inboundChannelName}, datum{"otim", queuedAt}, datum{"pcsOffered", "no"},
		datum{"priority", 50}, datum{"que", tenant + "~~queue~~phone~~" + strconv.FormatInt(InboundSales.ID, 10)},
		datum{"queueDirection", "in"}, datum{"tenantName", tenant}, datum{"tenantRecServer", "na12nfs01"},
		datum{"tenantSkillName", InboundSales.Name}, datum{"tim", queuedAt})
	queued := fields{
		"attachedData": attached(queuedData...), "direction": "in", "inboundChannelid": inboundChannelID,
		"isAgentInitiated": false, "mediaType": "phone", "priority": 50, "queueId": InboundSales.ID,
		"queueList": InboundSales.ID, "queueTime": queuedAt, "transactionNum": c.tok,
	}
	assigned := with(with(queued, agentData), fields{
		"isDirectAccess": false, "isExternal": false, "isOutboundCall": false, "outboundCampaignid": 0, "recordingMode": "no",
	})
	assignedAt := c.after(2, 30)
	acceptedAt := c.after(2, 8)
	endedAt := c.after(30, 300)
	wrappedAt := c.after(5, 60)
	wrapped := with(assigned, fields{
		"attachedData":    attached(append(queuedData, datum{"tclSelectedItems", wrapUp})...),
		"dispositionCode": disposition,
	})
	return c.result(FlowInboundAnswered,
		c.event("InteractionCreated", "CS_QUEUED", created, fields{
			"attachedData": attached(callerData...), "inboundChannelid": inboundChannelID,
		}),
		c.event("InteractionQueued", "CS_QUEUED", queuedAt, with(queued, fields{"eventTS": queuedAt})),
		c.event("InteractionAssigned", "CS_INPROGRESS", assignedAt, with(assigned, fields{"eventTS": assignedAt})),
		c.event("InteractionAccepted", "CS_CONNECTED", acceptedAt, assigned),
		c.event("InteractionPostProcess", "CS_DISCONNECTED", endedAt, assigned),
		c.event("InteractionEndPostProcess", "CS_DISCONNECTED", wrappedAt, wrapped),
		c.event("InteractionDeassigned", "CS_DISCONNECTED", wrappedAt, wrapped),
		c.event("InteractionDeleted", "CS_DISCONNECTED", wrappedAt, with(wrapped, fields{
			"callHangupReason": "CEC_DISCONNECT_NORMAL", "hangupInitiator": []string{"CUSTOMER", "AGENT"}[r.IntN(2)],
			"isQueued": false, "rejectReason": 0,
		})),
	)
}

// campaignCall holds the shared fields of an outbound campaign call.
type campaignCall struct {
	*call
	data     []datum
	base     fields
	assigned fields
	queuedAt int64
}

// newCampaignCall creates, queues, assigns and accepts an outbound campaign
// call: InteractionCreated, InteractionQueued, InteractionAssigned,
// InteractionAccepted.
func newCampaignCall(r *rand.Rand, tenant string, start time.Time) (*campaignCall, [][]byte) {
	c := &campaignCall{call: newCall(r, tenant, start)}
	campaign := HighNetWorth
	agent := Agents[0]
	// The Created event carries the campaign and the queue id but not yet the
	// direction, media type or queue name, as in Regal's "Interaction
	// Created" example; the queue details arrive with InteractionQueued.
	createdData := append(c.customerData(),
		datum{"@pri", 50}, datum{"campId", campaign.ID}, datum{"campName", campaign.Name},
		datum{"ctl_transType", "campaign"}, datum{"dialMode", campaign.DialMode}, datum{"med", "T"})
	c.data = append(slices.Clone(createdData),
		datum{"que", tenant + "~~queue~~phone~~" + strconv.FormatInt(campaign.Queue.ID, 10)},
		datum{"queueDirection", "out"}, datum{"tenantName", tenant}, datum{"tenantSkillName", campaign.Queue.Name})
	created := c.clock.Unix()
	createdFields := fields{
		"attachedData": attached(createdData...), "inboundChannelid": "N/A", "isOutboundCall": true,
		"outboundCampaignid": campaign.ID, "queueId": campaign.Queue.ID, "transactionNum": c.tok,
	}
	c.base = with(createdFields, fields{"attachedData": attached(c.data...), "direction": "out", "mediaType": "phone"})
	c.queuedAt = c.after(0, 2)
	queued := with(c.base, fields{
		"eventTS": c.queuedAt, "isAgentInitiated": false, "priority": 50, "queueList": campaign.Queue.ID, "queueTime": c.queuedAt,
	})
	c.assigned = with(with(queued, agentFields(r, tenant, agent)), fields{
		"isDirectAccess": false, "isExternal": true, "recordingMode": "no",
	})
	assignedAt := c.after(1, 20)
	acceptedAt := c.after(1, 15)
	return c, [][]byte{
		c.event("InteractionCreated", "CS_QUEUED", created, createdFields),
		c.event("InteractionQueued", "CS_QUEUED", c.queuedAt, queued),
		c.event("InteractionAssigned", "CS_INPROGRESS", assignedAt, with(c.assigned, fields{"eventTS": assignedAt})),
		c.event("InteractionAccepted", "CS_INPROGRESS", acceptedAt, c.assigned),
	}
}

// OutboundCampaignAnswered is a campaign call (HighNetWorth) the customer
// answers: InteractionCreated, InteractionQueued, InteractionAssigned,
// InteractionAccepted, InteractionCustomerAccepted,
// InteractionParticipantChange, InteractionPostProcess,
// InteractionDeassigned (disposition 1000), InteractionDeleted.
func OutboundCampaignAnswered(r *rand.Rand, tenant string, start time.Time) Call {
	c, events := newCampaignCall(r, tenant, start)
	answeredAt := c.after(5, 25)
	joinedAt := c.after(0, 1)
	endedAt := c.after(30, 400)
	wrappedAt := c.after(5, 60)
	done := with(c.assigned, fields{"dispositionCode": DispositionNone})
	events = append(events,
		c.event("InteractionCustomerAccepted", "CS_CONNECTED", answeredAt, c.assigned),
		c.event("InteractionParticipantChange", "CS_CONNECTED", joinedAt, c.assigned),
		c.event("InteractionPostProcess", "CS_DISCONNECTED", endedAt, c.assigned),
		c.event("InteractionDeassigned", "CS_DISCONNECTED", wrappedAt, done),
		c.event("InteractionDeleted", "CS_DISCONNECTED", wrappedAt, with(done, fields{
			"callHangupReason": "CEC_DISCONNECT_NORMAL", "hangupInitiator": []string{"CUSTOMER", "AGENT"}[r.IntN(2)],
			"isQueued": false, "rejectReason": 0,
		})),
	)
	return c.result(FlowOutboundCampaignAnswered, events...)
}

// OutboundNotAnswered is a campaign call (HighNetWorth) nobody picks up:
// InteractionCreated, InteractionQueued, InteractionAssigned,
// InteractionAccepted, InteractionDeleted (hangupInitiator SYSTEM,
// callHangupReason CEC_DISCONNECT_NOANSWER, disposition 1001).
func OutboundNotAnswered(r *rand.Rand, tenant string, start time.Time) Call {
	c, events := newCampaignCall(r, tenant, start)
	gaveUpAt := c.after(20, 40)
	events = append(events, c.event("InteractionDeleted", "CS_DISCONNECTED", gaveUpAt, with(c.assigned, fields{
		"callHangupReason": "CEC_DISCONNECT_NOANSWER", "dispositionCode": DispositionTryAgain,
		"hangupInitiator": "SYSTEM", "isQueued": false, "rejectReason": 0,
	})))
	return c.result(FlowOutboundNotAnswered, events...)
}
