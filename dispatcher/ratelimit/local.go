package ratelimit

import (
	"context"
	"sync"
	"time"
)

// local is an in-process GCRA limiter: tat is the theoretical arrival time
// of the next slot, and a caller may go at tat minus the burst tolerance.
// Each Wait reserves the next slot in call order, which makes it first
// come, first served. The interval between slots follows the adaptive
// rate.
type local struct {
	burst int

	mu   sync.Mutex
	tat  time.Time
	rate aimd
}

// NewLocal returns an Adaptive limiter for one process: rate requests per
// second at most (its ceiling), up to burst at once after being idle. It
// reads WithAdaptation among opts. It panics when rate is not a positive
// finite number or burst is less than 1.
//
// A canceled Wait gives its slot back when no later Wait has reserved one
// after it; otherwise the slot is lost, so the limiter errs on the side of
// sending less.
func NewLocal(rate float64, burst int, opts ...Option) Adaptive {
	mustBeValid(rate, burst)
	var o redisOptions
	for _, opt := range opts {
		opt(&o)
	}
	return &local{burst: burst, rate: newAIMD(rate, o.adaptation)}
}

// Wait implements Limiter.
func (l *local) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	step := interval(l.rate.current(now))
	tat := l.tat
	if tat.Before(now) {
		tat = now
	}
	at := tat.Add(-time.Duration(l.burst-1) * step)
	l.tat = tat.Add(step)
	reservedUpTo := l.tat
	l.mu.Unlock()

	wait := at.Sub(now)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		if l.tat.Equal(reservedUpTo) {
			l.tat = l.tat.Add(-step)
		}
		l.mu.Unlock()
		return ctx.Err()
	}
}

// Throttled implements Adaptive. A decrease also spends the burst, as the
// Redis limiter's does (see throttleScript).
func (l *local) Throttled(context.Context) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate.throttle(now) {
		if l.tat.Before(now) {
			l.tat = now
		}
		l.tat = l.tat.Add(min(l.rate.holdOff, time.Duration(l.burst-1)*interval(l.rate.current(now))))
	}
}

// Rate implements Adaptive.
func (l *local) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate.current(time.Now())
}
