package sapidouble

import (
	"context"
	"fmt"
	"time"
)

// Publish stamps each event with msgInfo (instanceId, next sequenceId,
// timestamp) and fans it out to every subscription of the tenant: written
// at once to connected ones, buffered for disconnected ones (until their
// Retention passes) and replayed in order when they reconnect. Like 8x8,
// the double only buffers for subsIds that have connected before.
//
// Each event is one raw JSON object {"<root>":{...}}; its key order is kept
// and msgInfo is inserted in alphabetical position or replaced. An event
// with "msgInfo":{} keeps it empty and consumes no sequence number.
func (s *Server) Publish(tenant string, events ...[]byte) error {
	return s.publish(tenant, time.Time{}, 0, events)
}

// PublishPaced publishes like Publish, but event i is written no earlier
// than first + i × interval, as a tenant producing events at a steady rate
// would: a load generator hands over many events in one request and the
// double releases them on time, so the generator's own requests do not
// load the machine under test. Events published later queue behind the
// paced ones (order is kept). msgInfo's timestamp is the due time.
func (s *Server) PublishPaced(tenant string, first time.Time, interval time.Duration, events ...[]byte) error {
	if first.IsZero() || interval < 0 {
		return fmt.Errorf("sapidouble: paced publish needs a first time and an interval of 0 or more, got %v and %s", first, interval)
	}
	return s.publish(tenant, first, interval, events)
}

// publish is Publish when first is zero and PublishPaced otherwise.
func (s *Server) publish(tenant string, first time.Time, interval time.Duration, events [][]byte) error {
	preps := make([]prepared, len(events))
	for i, ev := range events {
		p, err := prepare(ev)
		if err != nil {
			return fmt.Errorf("sapidouble: publish event %d: %w", i, err)
		}
		preps[i] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cfg.Tenants[tenant]; !ok {
		return fmt.Errorf("sapidouble: unknown tenant %q", tenant)
	}
	t := s.tenantState(tenant)
	now := time.Now()
	t.prune(now, s.cfg.Retention)
	preps = s.applyOrderingFaults(preps)
	items := make([]item, len(preps))
	var msgInfo []byte // reused: stamp copies it
	for i, p := range preps {
		at := now
		if !first.IsZero() {
			at = first.Add(time.Duration(i) * interval)
			items[i].due = at
		}
		if p.keepMsgInfo {
			items[i].event = p.kept()
		} else {
			msgInfo = t.appendNextMsgInfo(msgInfo[:0], at)
			items[i].event = p.stamp(msgInfo)
		}
	}
	for _, sub := range t.subs {
		sub.enqueue(items...)
	}
	t.published += int64(len(items))
	return nil
}

// PublishRaw writes b verbatim, in every output format, to the tenant's
// connected subscribers only (never buffered): for truncated events,
// garbage and other malformed input.
func (s *Server) PublishRaw(tenant string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[tenant]; t != nil {
		for _, sub := range t.subs {
			if sub.live != nil {
				sub.enqueue(item{event: append([]byte(nil), b...), raw: true})
			}
		}
	}
}

// SendHeartbeat writes a ClientCheck, stamped like the timed ones, to each
// open stream of the tenant now, in the stream's format: tests that set
// HeartbeatInterval to 0 pace heartbeats with it. During a stall it waits
// with the events. It is neither buffered for a disconnected subsId nor
// replayed.
func (s *Server) SendHeartbeat(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenant]
	if t == nil {
		return
	}
	now := time.Now()
	for _, sub := range t.subs {
		if sub.live != nil {
			sub.enqueue(item{event: heartbeatJSON(t.nextMsgInfo(now), sub.id, tenant), heartbeat: true})
		}
	}
}

// Cut ends the tenant's open streams cleanly, like 8x8's 60-minute cut.
// Events published afterwards are buffered for each subsId.
func (s *Server) Cut(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[tenant]; t != nil {
		now := time.Now()
		for _, sub := range t.subs {
			sub.detach(now)
		}
		s.notifyChanged()
	}
}

// ReplayLast sets how many of the events last delivered on a subsId are
// sent again when it reconnects (0 = none), simulating at-least-once replay.
func (s *Server) ReplayLast(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replayLast = n
}

// Failover moves the tenant to another 8x8 instance: later events carry a
// new msgInfo.instanceId and a sequenceId counted from 1 again.
func (s *Server) Failover(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenantState(tenant).failover()
}

// Subscribers returns how many streams the tenant has open.
func (s *Server) Subscribers(tenant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[tenant]; t != nil {
		return t.liveCount()
	}
	return 0
}

// WaitSubscribed blocks until the tenant has at least n open streams or ctx
// ends.
func (s *Server) WaitSubscribed(ctx context.Context, tenant string, n int) error {
	for {
		s.mu.Lock()
		count, changed := 0, s.changed
		if t := s.tenants[tenant]; t != nil {
			count = t.liveCount()
		}
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("sapidouble: waiting for %d subscribers of %s (have %d): %w", n, tenant, count, ctx.Err())
		}
	}
}
