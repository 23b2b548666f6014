package scenario

import (
	"math/rand/v2"
	"time"
)

// AgentState is an AgentStatusChange newState, numbered as 8x8's Agent
// Status API enumerates agent states.
type AgentState int

// Agent states (a subset of 8x8's enumeration).
const (
	AgentLoggedOut   AgentState = 1
	AgentLoggedIn    AgentState = 2
	AgentOnBreak     AgentState = 3
	AgentWaiting     AgentState = 4
	AgentWorkOffline AgentState = 5
)

// AgentNoReasonCode leaves newReasonCodeUser out of an AgentStatusChange.
const AgentNoReasonCode = ""

// AgentStatus is one AgentStatusChange event. reasonCodeUser is
// "<listId>=<itemId>" (e.g. "801=1722") or AgentNoReasonCode.
func AgentStatus(agentID string, state AgentState, reasonCodeUser string, at time.Time) []byte {
	f := fields{
		"agentId":           agentID,
		"newState":          int(state),
		"newSubState":       "none",
		"newSubStateReason": "none",
		"statusEventTS":     at.Unix(),
	}
	if reasonCodeUser != AgentNoReasonCode {
		f["newReasonCodeUser"] = reasonCodeUser
	}
	return encode("AgentStatusChange", f)
}

// AgentBreak is an agent going on a break with a reason code and coming
// back to wait for calls: two AgentStatusChange events.
func AgentBreak(r *rand.Rand, start time.Time) Call {
	agent := Agents[r.IntN(len(Agents))]
	back := start.Add(time.Duration(60+r.IntN(600)) * time.Second)
	return Call{
		Name: FlowAgentBreak,
		Events: [][]byte{
			AgentStatus(agent.ID, AgentOnBreak, "801=1722", start),
			AgentStatus(agent.ID, AgentWaiting, AgentNoReasonCode, back),
		},
	}
}
