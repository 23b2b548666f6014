package scheduler

import (
	"time"
)

// pauseLocked pauses kq's tenant after a dispatcher answered "tenant
// paused" for kq's head, and parks kq. The tenant's keys then wait (none
// is handed out) until the pause delay ends, when one is offered as a
// probe. A later answer asking for an earlier probe brings it forward.
func (s *Scheduler) pauseLocked(kq *keyQueue, retryAfter time.Duration) {
	delay := retryAfter
	if delay <= 0 {
		delay = s.cfg.PauseDelay
	}
	delay = min(max(delay, minPauseDelay), maxPauseDelay)
	tp := s.paused[kq.tenant]
	if tp == nil {
		tp = &tenantPause{tenant: kq.tenant}
		s.paused[kq.tenant] = tp
	}
	if tp.probe == kq {
		tp.probe = nil
	}
	until := time.Now().Add(delay)
	if tp.probe == nil && (tp.timer == nil || until.Before(tp.until)) {
		if tp.timer != nil {
			tp.timer.Stop()
		}
		tp.until = until
		var timer *time.Timer
		timer = time.AfterFunc(delay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			// A timer replaced (an earlier probe asked for) or stopped while
			// this callback waited for the lock must not probe.
			if s.paused[tp.tenant] != tp || s.closed || tp.timer != timer {
				return
			}
			tp.timer = nil
			if tp.probe == nil {
				s.probeLocked(tp)
			}
		})
		tp.timer = timer
	}
	if !s.closed && len(kq.events) > 0 && !kq.retrying {
		s.assignLocked(kq) // parks it
	}
}

// probeLocked offers the longest-waiting parked key of a paused tenant as
// a probe. A tenant with no key left to probe with is no longer paused:
// its next event is the probe.
func (s *Scheduler) probeLocked(tp *tenantPause) {
	for len(tp.parked) > 0 {
		kq := tp.parked[0]
		tp.parked[0] = nil
		tp.parked = tp.parked[1:]
		if !kq.parked {
			continue
		}
		kq.parked = false
		if s.keys[kq.ref()] != kq || len(kq.events) == 0 || kq.busy || kq.retrying {
			continue
		}
		tp.probe = kq
		s.assignLocked(kq)
		return
	}
	s.endPauseLocked(tp)
}

// resumeLocked ends the tenant's pause, if any, and hands out every
// parked key.
func (s *Scheduler) resumeLocked(tenant string) {
	if tp := s.paused[tenant]; tp != nil {
		s.endPauseLocked(tp)
	}
}

func (s *Scheduler) endPauseLocked(tp *tenantPause) {
	if tp.timer != nil {
		tp.timer.Stop()
		tp.timer = nil
	}
	delete(s.paused, tp.tenant)
	parked := tp.parked
	tp.parked = nil
	for _, kq := range parked {
		if !kq.parked {
			continue
		}
		kq.parked = false
		if s.keys[kq.ref()] == kq && len(kq.events) > 0 && !kq.busy && !kq.retrying && !s.closed {
			s.assignLocked(kq)
		}
	}
}

// parkLocked parks kq when its tenant is paused and kq is not the probe,
// and reports whether it did (or kq was parked already).
func (s *Scheduler) parkLocked(kq *keyQueue) bool {
	tp := s.paused[kq.tenant]
	if tp == nil || tp.probe == kq {
		return false
	}
	if !kq.parked {
		kq.parked = true
		tp.parked = append(tp.parked, kq)
	}
	return true
}

// forgetLocked drops a key that has no event left. A probe that is gone
// is replaced by another parked key at once.
func (s *Scheduler) forgetLocked(kq *keyQueue) {
	delete(s.keys, kq.ref())
	delete(s.unassigned, kq)
	kq.parked = false
	if tp := s.paused[kq.tenant]; tp != nil && tp.probe == kq {
		tp.probe = nil
		if tp.timer == nil {
			s.probeLocked(tp)
		}
	}
}
