package regaldouble

import (
	"net/http"
	"time"
)

// Fault is a scripted answer to one POST /events request, used before the
// server's normal behaviour.
type Fault struct {
	// Delay holds the answer back; a client that gives up first sees a
	// timeout.
	Delay time.Duration
	// Status, when non-zero, is sent instead of the normal answer, with a
	// body {"message":"<status text>"}. Zero means the normal answer
	// follows the delay.
	Status int
	// RetryAfter, when non-empty, is sent as the Retry-After header with
	// Status (delay-seconds or an HTTP-date).
	RetryAfter string
	// Message, when non-empty, replaces the status text in the body
	// {"message":"..."} sent with Status, as Regal does when it says what
	// is wrong with a request.
	Message string
}

// SetFaults replaces the scripted answers: the next len(faults) requests
// to POST /events get them in order, before authentication; later
// requests get the normal behaviour.
func (s *Server) SetFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append([]Fault(nil), faults...)
}

// SetStatusSequence makes the next requests to POST /events answer with the
// given statuses in order (e.g. 500, 429), then behave normally.
func (s *Server) SetStatusSequence(codes ...int) {
	faults := make([]Fault, len(codes))
	for i, code := range codes {
		faults[i] = Fault{Status: code}
	}
	s.SetFaults(faults...)
}

// nextFault pops the next scripted answer. The caller holds s.mu.
func (s *Server) nextFault() (Fault, bool) {
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

// playFault plays f: it holds the answer back by f.Delay, then, when f
// has a Status, answers with it and reports true so that normal handling
// must not follow.
func (s *Server) playFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	s.holdBack(r.Context(), f.Delay)
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	message := f.Message
	if message == "" {
		message = http.StatusText(f.Status)
	}
	s.answer(w, f.Status, ReasonScripted, message)
	return true
}
