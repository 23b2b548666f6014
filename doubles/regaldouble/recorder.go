package regaldouble

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
)

// Received is one accepted POST /events request.
type Received struct {
	// At is when the server accepted the request.
	At time.Time
	// APIKeyIndex is the index in Config.APIKeys of the key the request
	// used; the key itself is never recorded.
	APIKeyIndex int
	// Header is the request's header without Authorization.
	Header http.Header
	// Body is the request body as received.
	Body []byte
	// Event is Body decoded. Numbers in Properties are json.Number, so a
	// test can tell 61 from 61.0 and from "61".
	Event regal.Event
}

// Received returns the accepted requests in arrival order. The result
// shares no memory with the server.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.received))
	for i, r := range s.received {
		out[i] = r.clone()
	}
	return out
}

// Count is the number of accepted requests.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// Requests is the number of POST /events requests seen, whatever their
// answer: accepted, rejected, faulted or none.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Requests
}

// WaitCount blocks until at least n requests have been accepted or ctx is
// done; in the latter case the error tells how many arrived.
func (s *Server) WaitCount(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, changed := len(s.received), s.changed
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("regaldouble: %d of %d events received: %w", count, n, ctx.Err())
		case <-changed:
		}
	}
}

// Reset forgets recorded requests, the counters and pending scripted
// faults, and puts the standing conditions back as the Config set them:
// any outage ends, rate-limit buckets start full, the ErrorRate draw
// starts again from Config.Seed.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = nil
	s.stats = Stats{}
	s.faults = nil
	s.cond = s.cfg.conditions()
	s.buckets = nil
	s.rng = newRand(s.cfg.Seed)
}

// record stores an accepted request, counts it and wakes WaitCount
// callers.
func (s *Server) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.count(200, ReasonAccepted)
	s.received = append(s.received, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

// clone deep-copies r.
func (r Received) clone() Received {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	r.Event = cloneEvent(r.Event)
	return r
}

// cloneEvent deep-copies ev.
func cloneEvent(ev regal.Event) regal.Event {
	if ev.Traits != nil {
		traits := *ev.Traits
		if traits.Phones != nil {
			traits.Phones = make(map[string]regal.PhoneTrait, len(ev.Traits.Phones))
			for k, v := range ev.Traits.Phones {
				if v.IsPrimary != nil {
					primary := *v.IsPrimary
					v.IsPrimary = &primary
				}
				traits.Phones[k] = v
			}
		}
		ev.Traits = &traits
	}
	if ev.Properties != nil {
		ev.Properties = cloneValue(ev.Properties).(map[string]any)
	}
	return ev
}

// cloneValue deep-copies a decoded JSON value.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}
