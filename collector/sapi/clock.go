package sapi

import (
	"context"
	"time"
)

// Clock is the time source of the Client's timers: the stall watchdog, the
// heartbeat learning and the reconnect backoff. The Client uses real time
// unless WithClock gives it another clock (tests use a fake one, so that a
// 40-second stall takes no 40 seconds).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless the
	// returned Timer is stopped first, as time.AfterFunc does.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a Clock's pending call, as *time.Timer made by time.AfterFunc.
type Timer interface {
	// Stop prevents the call; it reports whether it did.
	Stop() bool
	// Reset makes the call due d from now, once more if it already ran.
	Reset(d time.Duration) bool
}

// Option configures a Client beyond its Config.
type Option func(*Client)

// WithClock makes the Client's timers run on clock instead of real time.
func WithClock(clock Clock) Option {
	return func(c *Client) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// realClock is time itself.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// sleep waits d on clock unless ctx ends first; it reports whether it
// waited.
func sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	done := make(chan struct{})
	t := clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
