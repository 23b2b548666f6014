package scenario

import (
	"math/rand/v2"
	"time"
)

// OutboundBusy is a campaign call (HighNetWorth) that meets a busy line:
// InteractionCreated, InteractionAssigned, InteractionDeleted
// (hangupInitiator SYSTEM, callHangupReason CEC_DISCONNECT_BUSY,
// disposition 1001). The dialler places it straight with the agent, so it
// has no InteractionQueued or InteractionAccepted.
func OutboundBusy(r *rand.Rand, tenant string, start time.Time) Call {
	c, events := newCampaignCall(r, tenant, start)
	busyAt := c.after(3, 15)
	return c.result(FlowOutboundBusy, events[0], events[2],
		c.event("InteractionDeleted", "CS_DISCONNECTED", busyAt, with(c.assigned, fields{
			"callHangupReason": "CEC_DISCONNECT_BUSY", "dispositionCode": DispositionTryAgain,
			"hangupInitiator": "SYSTEM", "isQueued": false, "rejectReason": 0,
		})))
}
