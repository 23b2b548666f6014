package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// errOverdue is the failure of a reservation slower than the Redis
// timeout.
var errOverdue = errors.New("reservation took longer than the Redis timeout")

// startReservation reserves n slots in a new goroutine. The limiter
// degrades when the answer is overdue even if the client keeps waiting
// (go-redis ignores context deadlines unless ContextTimeoutEnabled is
// set). The caller holds l.mu.
func (l *redisLimiter) startReservation(n int) {
	l.reserving = true
	l.reserved++
	id := l.reserved
	overdue := time.AfterFunc(l.opts.timeout, func() { l.overdue(id) })
	go l.reserve(n, overdue)
}

// overdue degrades the limiter when reservation id is still in flight.
func (l *redisLimiter) overdue(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reserving && l.reserved == id {
		now := time.Now()
		l.degrade(errOverdue, now)
		l.settle(now)
	}
}

// reserve runs the script for n slots, puts them in the pool on the local
// clock and hands them out. A failure degrades the limiter to its local
// fallback; a success ends a degraded period.
func (l *redisLimiter) reserve(n int, overdue *time.Timer) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.timeout)
	reply, err := reserveScript.Run(ctx, l.rdb, []string{l.key}, l.intervalArg, l.sharedBurst, n).Int64Slice()
	cancel()
	overdue.Stop()
	// The reply's "now" is mapped to its arrival, so slots are placed
	// late rather than early, by up to the round trip.
	received := time.Now()
	if err == nil && len(reply) != 2 {
		err = fmt.Errorf("reservation script answered %v, want [now base]", reply)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserving = false
	if err != nil {
		l.degrade(err, received)
		l.dispatch(received)
		return
	}
	l.restore()
	l.dropStale(received)
	serverNow, base := reply[0], reply[1]
	for k := range n {
		ahead := float64(base-serverNow) + float64(k)*l.intervalMicros
		at := received
		if ahead > 0 {
			at = received.Add(time.Duration(math.Ceil(ahead * float64(time.Microsecond))))
		}
		l.pool = insertSorted(l.pool, at)
	}
	// The new slots go to callers before any is dropped as stale.
	l.settle(received)
}

// degrade switches to the local fallback after a failed reservation,
// warning once per outage. The caller holds l.mu.
func (l *redisLimiter) degrade(err error, now time.Time) {
	l.nextProbe = now.Add(l.opts.retryInterval)
	if l.degraded {
		l.logger.Debug("shared rate limit still unavailable", "key", l.key, "error", err)
		return
	}
	l.degraded = true
	l.logger.Warn("shared rate limit unavailable: limiting locally",
		"key", l.key, "error", err, "local_rate_share", 1/float64(l.opts.processes),
		"retry_interval", l.opts.retryInterval)
}

// restore ends a degraded period after a successful reservation. The
// caller holds l.mu.
func (l *redisLimiter) restore() {
	if l.degraded {
		l.degraded = false
		l.logger.Info("shared rate limit available again", "key", l.key)
	}
}

// probeIfDue starts a reservation that tests Redis when a degraded
// limiter's retry interval has passed. Its slots, if any, go to the pool
// for the next callers. The caller holds l.mu.
func (l *redisLimiter) probeIfDue(now time.Time) {
	if l.reserving || now.Before(l.nextProbe) {
		return
	}
	l.nextProbe = now.Add(l.opts.retryInterval)
	l.startReservation(max(1, l.opts.prefetch))
}
