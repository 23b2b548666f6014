package scheduler

import (
	"context"
)

// Session is one connected dispatcher. Next and Ack may be called from
// different goroutines.
type Session struct {
	sched   *Scheduler
	name    string
	seq     uint64
	max     int
	wake    chan struct{}
	ready   []*keyQueue
	flights map[uint64]*flight
	closed  bool
	// draining: hand out nothing new (the stream is about to end).
	draining bool
	// bytes is what the session's deliveries in flight hold; Next hands
	// out another only below the scheduler's MaxInFlightBytes.
	bytes int64
}

// Drain stops handing out deliveries to this session; the ones in flight
// still settle. The session's other work moves when it Leaves.
func (x *Session) Drain() {
	x.sched.mu.Lock()
	defer x.sched.mu.Unlock()
	x.draining = true
}

// Name is the dispatcher's name given to Join.
func (x *Session) Name() string { return x.name }

// Next blocks until a delivery is ready for this session and within its
// in-flight bound, then hands it over: from then on the session owns it
// until Ack or Leave.
func (x *Session) Next(ctx context.Context) (Delivery, error) {
	s := x.sched
	for {
		s.mu.Lock()
		if x.closed {
			s.mu.Unlock()
			return Delivery{}, ErrClosed
		}
		if len(x.flights) < x.max && x.bytes < s.cfg.MaxInFlightBytes && !s.draining && !x.draining {
			for len(x.ready) > 0 {
				kq := x.ready[0]
				x.ready[0] = nil
				x.ready = x.ready[1:]
				kq.inReady = false
				if kq.owner != x || kq.busy || kq.retrying || len(kq.events) == 0 || s.parkLocked(kq) {
					continue
				}
				kq.busy = true
				it := kq.events[0]
				s.nextID++
				f := &flight{id: s.nextID, kq: kq, it: it, sess: x}
				x.flights[f.id] = f
				x.bytes += it.bytes
				s.inflight[f.id] = f
				s.mu.Unlock()
				return Delivery{ID: f.id, Entry: it.entry, Redelivery: it.redelivery}, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-x.wake:
		case <-ctx.Done():
			return Delivery{}, ctx.Err()
		}
	}
}

// InFlight is the number of unsettled deliveries of the session.
func (x *Session) InFlight() int {
	x.sched.mu.Lock()
	defer x.sched.mu.Unlock()
	return len(x.flights)
}

func (x *Session) signalLocked() {
	if x.closed {
		return
	}
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *Session) closeLocked() {
	if !x.closed {
		x.closed = true
		close(x.wake)
	}
}
