package regaldouble

import "maps"

// Reasons for an answer to POST /events, the keys of Stats.ByReason.
const (
	// ReasonAccepted: 200, the event was recorded.
	ReasonAccepted = "accepted"
	// ReasonScripted: a status from SetFaults or SetStatusSequence.
	ReasonScripted = "scripted_fault"
	// ReasonOutage: 503 during SetOutage or OutageFor.
	ReasonOutage = "outage"
	// ReasonUnauthorized: 401, a missing, wrong or revoked key.
	ReasonUnauthorized = "unauthorized"
	// ReasonRateLimited: 429 from the per-key rate limit.
	ReasonRateLimited = "rate_limited"
	// ReasonBodyTooLarge: 413.
	ReasonBodyTooLarge = "body_too_large"
	// ReasonBadRequest: 400, a body that breaks Regal's OpenAPI.
	ReasonBadRequest = "bad_request"
	// ReasonRejected: 400 from a Rejection.
	ReasonRejected = "rejected"
	// ReasonErrorRate: a 5xx drawn by ErrorRate.
	ReasonErrorRate = "error_rate"
	// ReasonUnanswered: no answer, because the client went away or the
	// server shut down while the answer was held back.
	ReasonUnanswered = "unanswered"
)

// Stats counts requests to POST /events by answer. Status counts cover
// every source of the status (a scripted 429 counts in TooManyRequests).
type Stats struct {
	// Requests is every request seen, answered or not.
	Requests int `json:"requests"`
	// Accepted is the 200 answers; it equals the number of recorded events.
	Accepted int `json:"accepted"`
	// TooManyRequests is the 429 answers.
	TooManyRequests int `json:"too_many_requests"`
	// ServerErrors is the 5xx answers.
	ServerErrors int `json:"server_errors"`
	// ClientErrors is the 4xx answers other than 429.
	ClientErrors int `json:"client_errors"`
	// ByReason counts every request by its Reason* constant.
	ByReason map[string]int `json:"by_reason"`
}

// Stats returns the counters since start or the last Reset. The result
// shares no memory with the server.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.ByReason = maps.Clone(s.stats.ByReason)
	if out.ByReason == nil {
		out.ByReason = map[string]int{}
	}
	return out
}

// count records the answer to one request: status 0 means none was sent.
// The caller holds s.mu.
func (st *Stats) count(status int, reason string) {
	switch {
	case status == 200:
		st.Accepted++
	case status == 429:
		st.TooManyRequests++
	case status >= 500:
		st.ServerErrors++
	case status >= 400:
		st.ClientErrors++
	}
	if st.ByReason == nil {
		st.ByReason = make(map[string]int)
	}
	st.ByReason[reason]++
}
