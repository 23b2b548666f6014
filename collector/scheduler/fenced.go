package scheduler

import "slices"

// DropTenant stops serving a tenant this collector no longer holds the
// lease of (another collector took it over): its events are handed out no
// more, what the scheduler keeps of it (buffered events, deliveries in
// flight, pauses, holds) is forgotten, later acknowledgements of its
// deliveries are ignored (ErrUnknownDelivery) and later Enqueues of it are
// dropped. Its events stay in Redis for the new holder. Idempotent.
func (s *Scheduler) DropTenant(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped[tenant] {
		return
	}
	s.dropped[tenant] = true
	for ref, kq := range s.keys {
		if kq.tenant != tenant {
			continue
		}
		for _, it := range kq.events {
			s.buffered--
			s.bufferedBytes -= it.bytes
		}
		clear(kq.events)
		kq.events = nil // Next skips it where it waits in a session's ready list
		kq.dropped = true
		kq.parked = false
		delete(s.keys, ref)
		delete(s.unassigned, kq)
		if t := s.timers[kq]; t != nil {
			t.Stop()
			delete(s.timers, kq)
		}
	}
	for id, f := range s.inflight {
		if f.kq.tenant != tenant {
			continue
		}
		delete(s.inflight, id)
		delete(f.sess.flights, id)
		f.sess.bytes -= f.it.bytes
		f.sess.signalLocked()
	}
	if tp := s.paused[tenant]; tp != nil {
		if tp.timer != nil {
			tp.timer.Stop()
			tp.timer = nil
		}
		delete(s.paused, tenant)
	}
	for k := range s.held {
		if k.tenant == tenant {
			delete(s.held, k)
		}
	}
	for pk := range s.highWater {
		if pk.tenant == tenant {
			delete(s.highWater, pk)
		}
	}
	close(s.space)
	s.space = make(chan struct{})
}

// liveOnly filters out, in place, the settlements of dropped tenants.
func (s *Scheduler) liveOnly(batch []settleReq) []settleReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := batch[:0]
	for _, r := range batch {
		if !r.kq.dropped {
			live = append(live, r)
		}
	}
	clear(batch[len(live):])
	return live
}

// dropsAny reports whether a settlement of the batch is of one of tenants.
func (s *Scheduler) dropsAny(batch []settleReq, tenants []string) bool {
	for _, r := range batch {
		if slices.Contains(tenants, r.kq.tenant) {
			return true
		}
	}
	return false
}

// Dropped reports whether DropTenant dropped the tenant.
func (s *Scheduler) Dropped(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped[tenant]
}

// AdoptTenant serves a dropped tenant again: this collector took its lease
// back. Enqueues of it are accepted from here on; what the scheduler
// forgot at DropTenant comes back from Redis (intake's recovery), so call
// it before that recovery. A no-op for a tenant not dropped.
func (s *Scheduler) AdoptTenant(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dropped, tenant)
}

// TenantIdle reports whether the scheduler holds nothing of the tenant to
// deliver or settle: no buffered event, no delivery in flight, no
// settlement being written. A collector handing the tenant over waits
// for it, so that its deliveries in flight are not sent twice.
func (s *Scheduler) TenantIdle(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, kq := range s.keys {
		if kq.tenant == tenant && (len(kq.events) > 0 || kq.busy) {
			return false
		}
	}
	for _, f := range s.inflight {
		if f.kq.tenant == tenant {
			return false
		}
	}
	return true
}
