package scenario

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Transfer is an inbound call the first agent transfers to another agent.
// The transfer creates a second interaction (a new interactionGUID and tok)
// whose attachedData links it to the first through originalInteractionGuid,
// originalTokenId and originalTransactionId. Call.InteractionID is the
// first leg, Call.LinkedInteractionIDs holds the second. The events, in
// order:
//
//	leg 1: InteractionCreated, InteractionQueued, InteractionAssigned, InteractionAccepted
//	leg 2: InteractionCreated, InteractionAssigned, InteractionAccepted
//	leg 1: InteractionPostProcess, InteractionEndPostProcess, InteractionDeassigned, InteractionDeleted
//	leg 2: InteractionPostProcess, InteractionEndPostProcess, InteractionDeassigned, InteractionDeleted
//
// The first leg ends with hangupInitiator AGENT (the transferring agent
// leaves); the second with CUSTOMER or AGENT.
func Transfer(r *rand.Rand, tenant string, start time.Time) Call {
	first := newInboundCall(r, tenant, start)
	from := r.IntN(len(Agents))
	to := (from + 1 + r.IntN(len(Agents)-1)) % len(Agents)
	events := [][]byte{first.created(), first.queue()}
	firstAssigned, offered := first.offer(Agents[from])
	events = append(events, offered, first.accept(firstAssigned))

	transferAt := first.after(30, 180)
	second := &inboundCall{
		call: &call{
			r: r, tenant: tenant, guid: interactionGUID(r, tenant, first.clock), tok: 10_000 + r.Int64N(990_000),
			customer: first.customer, clock: first.clock,
		},
		createdAt: transferAt,
	}
	link := []datum{
		{"originalInteractionGuid", first.guid}, {"originalTokenId", first.tok}, {"originalTransactionId", first.tok},
	}
	second.callerData = append(append(second.customerData(), link...),
		datum{"@pri", 100}, datum{"callingName", first.customer.name}, datum{"cha", inboundChannelID},
		datum{"med", "T"}, datum{"pho", first.customer.digits}, datum{"remoteCallingName", first.customer.name})
	second.queuedData = append(slices.Clone(second.callerData),
		datum{"tenantName", tenant}, datum{"tenantSkillName", InboundSales.Name})
	second.queued = with(first.queued, fields{"attachedData": attached(second.queuedData...), "transactionNum": second.tok})
	secondAssigned, secondOffered := second.offer(Agents[to])
	events = append(events, second.created(), secondOffered, second.accept(secondAssigned))

	first.clock = second.clock
	events = append(events, first.wrapUp(firstAssigned, "AGENT")...)
	second.clock = first.clock
	events = append(events, second.wrapUp(secondAssigned, []string{"CUSTOMER", "AGENT"}[r.IntN(2)])...)
	out := first.result(FlowTransfer, events...)
	out.LinkedInteractionIDs = []string{second.guid}
	return out
}
