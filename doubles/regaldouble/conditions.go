package regaldouble

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// conditions are the standing faults and limits applied to every request
// to POST /events until changed. The server keeps them under its mutex.
type conditions struct {
	rateLimit   float64
	rateBurst   int
	retryAfter  string
	errorRate   float64
	errorStatus int
	latency     time.Duration
	slowPhones  map[string]time.Duration
	// outage is an outage without an end, set by SetOutage.
	outage bool
	// outageUntil ends the outage window set by OutageFor.
	outageUntil time.Time
	// revoked are indexes of API keys answered 401.
	revoked []int
	// rejections pick valid requests to answer 400.
	rejections []Rejection
}

// validate reports the first value out of range.
func (c conditions) validate() error {
	switch {
	case c.rateLimit < 0:
		return fmt.Errorf("regaldouble: rate limit %v is negative", c.rateLimit)
	case c.rateBurst < 0:
		return fmt.Errorf("regaldouble: rate burst %d is negative", c.rateBurst)
	case c.errorRate < 0 || c.errorRate > 1:
		return fmt.Errorf("regaldouble: error rate %v is outside [0, 1]", c.errorRate)
	case c.errorStatus != 0 && (c.errorStatus < 500 || c.errorStatus > 599):
		return fmt.Errorf("regaldouble: error status %d is not a 5xx status", c.errorStatus)
	case c.latency < 0:
		return fmt.Errorf("regaldouble: latency %s is negative", c.latency)
	}
	for phone, d := range c.slowPhones {
		if d < 0 {
			return errors.New("regaldouble: slow phone " + maskPhone(phone) + " has a negative delay")
		}
	}
	for _, r := range c.rejections {
		if r.Phone == "" && r.Name == "" {
			return errors.New("regaldouble: a rejection needs a phone or an event name")
		}
	}
	return nil
}

// isRevoked reports whether the key at index i is revoked.
func (c conditions) isRevoked(i int) bool {
	return slices.Contains(c.revoked, i)
}

// rejection is the message of the first rejection ev matches.
func (c conditions) rejection(ev Event) (string, bool) {
	for _, r := range c.rejections {
		if r.Name != "" && r.Name != ev.Name {
			continue
		}
		if r.Phone != "" {
			if ev.Traits == nil {
				continue
			}
			if _, ok := ev.Traits.Phones[r.Phone]; !ok {
				continue
			}
		}
		return r.Message, true
	}
	return "", false
}

// burst is the effective token-bucket size.
func (c conditions) burst() int {
	if c.rateBurst > 0 {
		return c.rateBurst
	}
	return DefaultBurst(c.rateLimit)
}

// status is the effective status of ErrorRate answers.
func (c conditions) status() int {
	if c.errorStatus != 0 {
		return c.errorStatus
	}
	return DefaultErrorStatus
}

// inOutage reports whether every request is answered 503 at now.
func (c conditions) inOutage(now time.Time) bool {
	return c.outage || now.Before(c.outageUntil)
}

// slowDelay is the longest delay among the slow phones ev names.
func (c conditions) slowDelay(ev Event) time.Duration {
	if ev.Traits == nil {
		return 0
	}
	var longest time.Duration
	for phone := range ev.Traits.Phones {
		longest = max(longest, c.slowPhones[phone])
	}
	return longest
}

// change applies edit to a copy of the standing conditions and keeps the
// result if it is valid. A change to the rate limit refills every key's
// bucket.
func (s *Server) change(edit func(*conditions)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cond
	next.slowPhones = maps.Clone(s.cond.slowPhones)
	next.revoked = slices.Clone(s.cond.revoked)
	next.rejections = slices.Clone(s.cond.rejections)
	edit(&next)
	if err := next.validate(); err != nil {
		return err
	}
	if next.rateLimit != s.cond.rateLimit || next.burst() != s.cond.burst() {
		s.buckets = nil
	}
	s.cond = next
	return nil
}

// SetRateLimit limits each API key to perSecond sustained requests with
// bursts of burst (0 means DefaultBurst(perSecond)); perSecond 0 turns the
// limit off. Every key's bucket starts full again. It fails, changing
// nothing, on a negative value.
func (s *Server) SetRateLimit(perSecond float64, burst int) error {
	return s.change(func(c *conditions) { c.rateLimit, c.rateBurst = perSecond, burst })
}

// SetRateLimitRetryAfter sets the Retry-After header of rate-limit
// answers; empty sends none.
func (s *Server) SetRateLimitRetryAfter(value string) {
	_ = s.change(func(c *conditions) { c.retryAfter = value })
}

// SetErrorRate answers the given fraction of otherwise valid requests with
// status (0 means DefaultErrorStatus). It fails, changing nothing, when
// fraction is outside [0, 1] or status is not 5xx.
func (s *Server) SetErrorRate(fraction float64, status int) error {
	return s.change(func(c *conditions) { c.errorRate, c.errorStatus = fraction, status })
}

// SetLatency adds d to every answer. It fails on a negative d.
func (s *Server) SetLatency(d time.Duration) error {
	return s.change(func(c *conditions) { c.latency = d })
}

// SetSlowPhones replaces the slow phone numbers (E.164 → delay); nil or
// empty clears them. It fails on a negative delay.
func (s *Server) SetSlowPhones(phones map[string]time.Duration) error {
	return s.change(func(c *conditions) { c.slowPhones = maps.Clone(phones) })
}

// SetOutage starts an outage without an end (on) or ends any outage,
// including a window set by OutageFor (off). During an outage every
// request to POST /events is answered 503 {"message":"Service
// Unavailable"} before authentication, as a load balancer with no healthy
// backend would; the connection is kept, so clients see an HTTP error
// rather than a network error.
func (s *Server) SetOutage(on bool) {
	_ = s.change(func(c *conditions) { c.outage, c.outageUntil = on, time.Time{} })
}

// OutageFor starts an outage that ends by itself after d (see SetOutage);
// d <= 0 ends the window at once.
func (s *Server) OutageFor(d time.Duration) {
	until := time.Now().Add(d)
	_ = s.change(func(c *conditions) { c.outageUntil = until })
}

// RevokeKeys answers 401 to the keys at these indexes of Config.APIKeys,
// as when Regal revokes a key; no index restores every key.
func (s *Server) RevokeKeys(indexes ...int) {
	_ = s.change(func(c *conditions) { c.revoked = slices.Clone(indexes) })
}

// SetRejections replaces the rejections (see Rejection); none clears
// them. It fails, changing nothing, on a rejection matching everything.
func (s *Server) SetRejections(rs ...Rejection) error {
	return s.change(func(c *conditions) { c.rejections = slices.Clone(rs) })
}
