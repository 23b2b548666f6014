package timeline

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// decodeSummary reads an interaction's summary hash. Per-event fields
// without a state (possible only if the hash was written partially) still
// count the event.
func decodeSummary(tenant, id string, h map[string]string) Interaction {
	in := Interaction{Tenant: tenant, ID: id, States: map[string]EventState{}}
	state := func(event string) EventState { return in.States[event] }
	for k, v := range h {
		switch k {
		case fPhone:
			in.Phone = v
		case fCampaignID:
			in.CampaignID = parseInt(v)
		case fCampaignName:
			in.CampaignName = v
		case fQueueID:
			in.QueueID = parseInt(v)
		case fQueueName:
			in.QueueName = v
		case fType:
			in.Type = v
		case fDirection:
			in.Direction = v
		case fMediaType:
			in.MediaType = v
		case fFirst:
			in.First = parseMillis(v)
		case fLast:
			in.Last = parseMillis(v)
		case fLastType:
			in.LastEventType = v
		case fTraceID:
			in.TraceID = v
		default:
			prefix, rest, ok := cutPrefix(k)
			if !ok {
				continue
			}
			switch prefix {
			case pPhone:
				in.Phones = append(in.Phones, rest)
			case pCampaign:
				in.Campaigns = append(in.Campaigns, parseInt(rest))
			case pQueue:
				in.Queues = append(in.Queues, parseInt(rest))
			case pAgent:
				in.Agents = append(in.Agents, rest)
			case pState:
				st := state(rest)
				if ss, err := decodeState([]byte(v)); err == nil {
					st.State, st.At, st.RegalStatus, st.Redelivery = ss.state, ss.at, ss.regalStatus, ss.redelivery
					st.Dispatcher, st.Reason = ss.dispatcher, ss.reason
				}
				in.States[rest] = st
			case pSightings:
				st := state(rest)
				st.Sightings = int(parseInt(v))
				in.States[rest] = st
			case pDuplicate:
				st := state(rest)
				st.LastDuplicate = parseMillis(v)
				in.States[rest] = st
			case pReplays:
				st := state(rest)
				st.Replays = int(parseInt(v))
				in.States[rest] = st
			case pAttempts:
				st := state(rest)
				st.Attempts = int(parseInt(v))
				in.States[rest] = st
			}
		}
	}
	slices.Sort(in.Phones)
	slices.Sort(in.Campaigns)
	slices.Sort(in.Queues)
	slices.Sort(in.Agents)
	in.Counts = countStates(in.States)
	return in
}

func countStates(states map[string]EventState) Counts {
	var c Counts
	for _, st := range states {
		c.Events++
		if st.Sightings > 1 {
			c.Duplicates += st.Sightings - 1
		}
		switch st.State {
		case StateInDelivery:
			c.InDelivery++
		case StateRetrying:
			c.Retrying++
		case StateDelivered:
			c.Delivered++
		case StateSkipped:
			c.Skipped++
		case StateDeadLettered:
			c.DeadLettered++
		default:
			c.Pending++
		}
	}
	return c
}

// matches reports whether the interaction matches q's dimensions and
// status (not its time range, which the index scan applies).
func (in Interaction) matches(q Query) bool {
	if q.Phone != "" && !slices.Contains(in.Phones, q.Phone) ||
		q.CampaignID != 0 && !slices.Contains(in.Campaigns, q.CampaignID) ||
		q.QueueID != 0 && !slices.Contains(in.Queues, q.QueueID) ||
		q.AgentID != "" && !slices.Contains(in.Agents, q.AgentID) {
		return false
	}
	switch q.Status {
	case HasDeadLetters:
		return in.Counts.DeadLettered > 0
	case HasUnsettled:
		return in.Counts.Unsettled() > 0
	}
	return true
}

var perEventPrefixes = []string{pPhone, pCampaign, pQueue, pAgent, pState, pSightings, pDuplicate, pReplays, pAttempts}

func cutPrefix(field string) (prefix, rest string, ok bool) {
	for _, p := range perEventPrefixes {
		if r, found := strings.CutPrefix(field, p); found {
			return p, r, true
		}
	}
	return "", "", false
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func parseMillis(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
