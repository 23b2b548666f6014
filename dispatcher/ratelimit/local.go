package ratelimit

import (
	"context"
	"sync"
	"time"
)

// local is an in-process GCRA limiter: tat is the theoretical arrival time
// of the next slot, and a caller may go at tat minus the burst tolerance.
// Each Wait reserves the next slot in call order, which makes it first
// come, first served.
type local struct {
	interval  time.Duration
	tolerance time.Duration // (burst-1)·interval

	mu  sync.Mutex
	tat time.Time
}

// NewLocal returns a Limiter for one process: rate requests per second,
// up to burst at once after being idle. It panics when rate is not a
// positive finite number or burst is less than 1.
//
// A canceled Wait gives its slot back when no later Wait has reserved one
// after it; otherwise the slot is lost, so the limiter errs on the side of
// sending less.
func NewLocal(rate float64, burst int) Limiter {
	mustBeValid(rate, burst)
	step := interval(rate)
	return &local{interval: step, tolerance: time.Duration(burst-1) * step}
}

// Wait implements Limiter.
func (l *local) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	tat := l.tat
	if tat.Before(now) {
		tat = now
	}
	at := tat.Add(-l.tolerance)
	l.tat = tat.Add(l.interval)
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
			l.tat = l.tat.Add(-l.interval)
		}
		l.mu.Unlock()
		return ctx.Err()
	}
}
