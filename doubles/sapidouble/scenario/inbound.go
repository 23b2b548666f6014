package scenario

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// inboundCall holds the shared fields of an inbound call to InboundSales,
// built up as the call progresses; the flows added after InboundAnswered
// use it (InboundAnswered keeps its own code so its bytes for a seed never
// change).
type inboundCall struct {
	*call
	callerData []datum // attachedData from InteractionCreated on
	queuedData []datum // attachedData from InteractionQueued on
	queued     fields  // top-level fields from InteractionQueued on
	createdAt  int64
}

func newInboundCall(r *rand.Rand, tenant string, start time.Time) *inboundCall {
	c := &inboundCall{call: newCall(r, tenant, start)}
	c.callerData = append(c.customerData(),
		datum{"@pri", 100}, datum{"callingName", c.customer.name}, datum{"cha", inboundChannelID},
		datum{"cnt", 0}, datum{"con", 0}, datum{"med", "T"}, datum{"pho", c.customer.digits},
		datum{"remoteCallingName", c.customer.name})
	c.createdAt = c.clock.Unix()
	return c
}

// created is InteractionCreated (CS_QUEUED), as 8x8's sample D.
func (c *inboundCall) created() []byte {
	return c.event("InteractionCreated", "CS_QUEUED", c.createdAt, fields{
		"attachedData": attached(c.callerData...), "inboundChannelid": inboundChannelID,
	})
}

// queue advances the clock and returns InteractionQueued, as sample E.
func (c *inboundCall) queue() []byte {
	at := c.after(1, 9)
	c.queuedData = append(slices.Clone(c.callerData),
		datum{"channelName", inboundChannelName}, datum{"otim", at}, datum{"pcsOffered", "no"},
		datum{"priority", 50}, datum{"que", c.tenant + "~~queue~~phone~~" + strconv.FormatInt(InboundSales.ID, 10)},
		datum{"queueDirection", "in"}, datum{"tenantName", c.tenant}, datum{"tenantRecServer", "na12nfs01"},
		datum{"tenantSkillName", InboundSales.Name}, datum{"tim", at})
	c.queued = fields{
		"attachedData": attached(c.queuedData...), "direction": "in", "inboundChannelid": inboundChannelID,
		"isAgentInitiated": false, "mediaType": "phone", "priority": 50, "queueId": InboundSales.ID,
		"queueList": InboundSales.ID, "queueTime": at, "transactionNum": c.tok,
	}
	return c.event("InteractionQueued", "CS_QUEUED", at, with(c.queued, fields{"eventTS": at}))
}

// offer advances the clock and returns the agent-bound fields of the call
// offered to agent with its InteractionAssigned.
func (c *inboundCall) offer(agent Agent) (fields, []byte) {
	assigned := with(with(c.queued, agentFields(c.r, c.tenant, agent)), fields{
		"isDirectAccess": false, "isExternal": false, "isOutboundCall": false, "outboundCampaignid": 0, "recordingMode": "no",
	})
	at := c.after(2, 30)
	return assigned, c.event("InteractionAssigned", "CS_INPROGRESS", at, with(assigned, fields{"eventTS": at}))
}

// accept advances the clock and returns InteractionAccepted (CS_CONNECTED).
func (c *inboundCall) accept(assigned fields) []byte {
	return c.event("InteractionAccepted", "CS_CONNECTED", c.after(2, 8), assigned)
}

// wrapUp ends an answered call: InteractionPostProcess,
// InteractionEndPostProcess (dispositionCode, tclSelectedItems),
// InteractionDeassigned and InteractionDeleted (hangupInitiator as given).
func (c *inboundCall) wrapUp(assigned fields, hangupInitiator string) [][]byte {
	disposition := []int{DispositionNone, DispositionScheduleCallback}[c.r.IntN(2)]
	tcl := strconv.Itoa(5+c.r.IntN(4)) + "|" + strconv.Itoa(10+c.r.IntN(90))
	endedAt := c.after(30, 300)
	wrappedAt := c.after(5, 60)
	wrapped := with(assigned, fields{
		"attachedData":    attached(append(slices.Clone(c.queuedData), datum{"tclSelectedItems", tcl})...),
		"dispositionCode": disposition,
	})
	return [][]byte{
		c.event("InteractionPostProcess", "CS_DISCONNECTED", endedAt, assigned),
		c.event("InteractionEndPostProcess", "CS_DISCONNECTED", wrappedAt, wrapped),
		c.event("InteractionDeassigned", "CS_DISCONNECTED", wrappedAt, wrapped),
		c.event("InteractionDeleted", "CS_DISCONNECTED", wrappedAt, with(wrapped, fields{
			"callHangupReason": "CEC_DISCONNECT_NORMAL", "hangupInitiator": hangupInitiator,
			"isQueued": false, "rejectReason": 0,
		})),
	}
}

// customerHangup are the fields of an InteractionDeleted for a caller who
// hung up before reaching an agent, as 8x8's sample F.
func customerHangup(attachedData map[string]any, queued bool) fields {
	return fields{
		"attachedData": attachedData, "callHangupReason": "CEC_DISCONNECT_NORMAL", "dispositionCode": DispositionNone,
		"hangupInitiator": "CUSTOMER", "inboundChannelid": inboundChannelID, "isAgentInitiated": false,
		"isDirectAccess": false, "isQueued": queued, "mediaType": "phone", "recordingMode": "no", "rejectReason": 0,
	}
}

// InboundAbandoned is an inbound call whose caller hangs up while queued:
// InteractionCreated, InteractionQueued, InteractionUnqueued,
// InteractionDeleted (hangupInitiator CUSTOMER).
func InboundAbandoned(r *rand.Rand, tenant string, start time.Time) Call {
	c := newInboundCall(r, tenant, start)
	created, queued := c.created(), c.queue()
	leftAt := c.after(10, 240)
	unqueued := c.event("InteractionUnqueued", "CS_DISCONNECTED", leftAt, with(c.queued, fields{"eventTS": leftAt}))
	deleted := c.event("InteractionDeleted", "CS_DISCONNECTED", leftAt,
		with(customerHangup(attached(c.queuedData...), true), fields{"transactionNum": c.tok}))
	return c.result(FlowInboundAbandoned, created, queued, unqueued, deleted)
}

// IVRHangup is an inbound call whose caller hangs up in the IVR, before
// any queue, as 8x8's sample F: InteractionCreated, InteractionDeleted
// (hangupInitiator CUSTOMER, isQueued false).
func IVRHangup(r *rand.Rand, tenant string, start time.Time) Call {
	c := newInboundCall(r, tenant, start)
	created := c.created()
	data := append(slices.Clone(c.callerData), datum{"pcsOffered", "no"})
	deleted := c.event("InteractionDeleted", "CS_DISCONNECTED", c.after(3, 45), customerHangup(attached(data...), false))
	return c.result(FlowIVRHangup, created, deleted)
}

// AgentRejectReoffer is an inbound call the first agent rejects; it goes
// back to the queue and another agent answers it: InteractionCreated,
// InteractionQueued, InteractionAssigned, InteractionRejected (rejectReason
// 2, CS_QUEUED), InteractionAssigned (another agent), InteractionAccepted,
// InteractionPostProcess, InteractionEndPostProcess, InteractionDeassigned,
// InteractionDeleted.
func AgentRejectReoffer(r *rand.Rand, tenant string, start time.Time) Call {
	c := newInboundCall(r, tenant, start)
	first := r.IntN(len(Agents))
	second := (first + 1 + r.IntN(len(Agents)-1)) % len(Agents)
	events := [][]byte{c.created(), c.queue()}
	offered, assigned := c.offer(Agents[first])
	// Exactly the members of 8x8's sample H.
	rejected := c.event("InteractionRejected", "CS_QUEUED", c.after(5, 30), fields{
		"agentGUID": offered["agentGUID"], "agentId": offered["agentId"],
		"participatingAgents": offered["participatingAgents"], "queueList": InboundSales.ID, "rejectReason": 2,
	})
	answering, reassigned := c.offer(Agents[second])
	events = append(events, assigned, rejected, reassigned, c.accept(answering))
	events = append(events, c.wrapUp(answering, []string{"CUSTOMER", "AGENT"}[r.IntN(2)])...)
	return c.result(FlowAgentRejectReoffer, events...)
}

// lineHold is a LineHoldStatus event with exactly the members of 8x8's
// sample I: status true puts the customer on hold (CS_HOLD), false takes
// them off (CS_CONNECTED).
func (c *inboundCall) lineHold(assigned fields, status bool, ts int64) []byte {
	state := "CS_CONNECTED"
	if status {
		state = "CS_HOLD"
	}
	return encode("Interaction", fields{
		"agentGUID": assigned["agentGUID"], "agentId": assigned["agentId"], "callState": state,
		"event": "LineHoldStatus", "interactionEventTS": ts, "interactionGUID": c.guid, "mediaType": "phone",
		"participatingAgents": assigned["participatingAgents"], "status": status, "transactionNum": c.tok,
	})
}

// HoldUnhold is an answered inbound call the agent puts on hold and takes
// back: InteractionCreated, InteractionQueued, InteractionAssigned,
// InteractionAccepted, LineHoldStatus (status true), LineHoldStatus (status
// false), InteractionPostProcess, InteractionEndPostProcess,
// InteractionDeassigned, InteractionDeleted.
func HoldUnhold(r *rand.Rand, tenant string, start time.Time) Call {
	c := newInboundCall(r, tenant, start)
	events := [][]byte{c.created(), c.queue()}
	assigned, offered := c.offer(Agents[r.IntN(len(Agents))])
	events = append(events, offered, c.accept(assigned))
	heldAt := c.after(20, 120)
	events = append(events, c.lineHold(assigned, true, heldAt), c.lineHold(assigned, false, c.after(10, 180)))
	events = append(events, c.wrapUp(assigned, []string{"CUSTOMER", "AGENT"}[r.IntN(2)])...)
	return c.result(FlowHoldUnhold, events...)
}
