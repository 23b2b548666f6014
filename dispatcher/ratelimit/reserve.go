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
	reply, err := reserveScript.Run(ctx, l.rdb, l.keys, l.ceilingArg, l.stepArg, l.sharedBurst, n).Int64Slice()
	cancel()
	overdue.Stop()
	// The reply's "now" is mapped to its arrival, so slots are placed
	// late rather than early, by up to the round trip.
	received := time.Now()
	if err == nil && len(reply) != 5 {
		err = fmt.Errorf("reservation script answered %v, want [now base interval rate at]", reply)
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
	serverNow, base, intervalNanos := reply[0], reply[1], reply[2]
	l.mirror(received, serverNow, reply[3], reply[4])
	for k := range n {
		ahead := float64(base-serverNow)*float64(time.Microsecond) + float64(k)*float64(intervalNanos)
		at := received
		if ahead > 0 {
			at = received.Add(time.Duration(math.Ceil(ahead)))
		}
		l.pool = insertSorted(l.pool, at)
	}
	// The new slots go to callers before any is dropped as stale.
	l.settle(received)
}

// mirror records the shared rate's last decrease that a script reported
// (rate in thousandths of a request/s, at in the server's microseconds, 0
// if none) on the local clock, where the reply arrived at received. The
// caller holds l.mu.
func (l *redisLimiter) mirror(received time.Time, serverNow, rateMilli, at int64) {
	if at == 0 {
		l.shared.at = time.Time{}
		return
	}
	l.shared.rate = float64(rateMilli) / 1000
	l.shared.at = received.Add(-time.Duration(serverNow-at) * time.Microsecond)
}

// Throttled implements Adaptive: it decreases the shared rate in Redis
// unless this process knows of a decrease within the hold-off, or has
// one request for it in flight. A decrease drops the slots this process
// holds in its pool, reserved at the old rate. The local fallback follows
// too, so that it is slowed as well if Redis fails.
func (l *redisLimiter) Throttled(ctx context.Context) {
	l.fallback.Throttled(ctx)
	now := time.Now()
	l.mu.Lock()
	if l.degraded || l.throttling || l.shared.holding(now) {
		l.mu.Unlock()
		return
	}
	l.throttling = true
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, l.opts.timeout)
	reply, err := throttleScript.Run(ctx, l.rdb, l.keys, l.throttleArg...).Int64Slice()
	cancel()
	received := time.Now()
	if err == nil && len(reply) != 4 {
		err = fmt.Errorf("throttle script answered %v, want [now rate at decreased]", reply)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttling = false
	if err != nil {
		// Reservations notice an unreachable Redis; this one refusal
		// goes uncounted.
		l.logger.Debug("could not lower the shared rate limit", "key", l.key, "error", err)
		return
	}
	l.mirror(received, reply[0], reply[1], reply[2])
	if reply[3] == 1 {
		l.logger.Debug("shared rate limit lowered after a refusal", "key", l.key, "rate", l.shared.rate)
		clear(l.pool)
		l.pool = l.pool[:0]
		l.settle(received)
	}
}

// Rate implements Adaptive.
func (l *redisLimiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.degraded {
		return l.fallback.Rate() * float64(l.opts.processes)
	}
	return l.shared.current(time.Now())
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
