// Package ratelimit keeps the requests of several dispatchers to one Regal
// account under the account's rate limit (Regal documents 300 requests/s
// and sends no Retry-After, so the bridge must not rely on 429s to pace
// itself).
//
// NewLocal limits one process. NewRedis limits every process sharing a
// Redis key, with the generic cell rate algorithm (GCRA) run in a Lua
// script on the Redis server's clock; each process reserves slots in
// batches and hands them out locally, so most Waits need no round trip.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Limiter paces requests to one rate-limited destination.
//
// Wait blocks until the caller may send one request and returns nil, or
// until ctx ends first and returns ctx.Err(); then the caller must not
// send. A Wait whose ctx is already done returns ctx.Err() at once without
// using a slot, and a canceled Wait gives its slot back when it can.
//
// Over any period of length d, Waits of one limiter (for NewRedis: of all
// limiters sharing the key, while no more processes share it than
// WithProcesses says) return nil at most rate·d + burst times. Wait is
// safe for concurrent use, and callers are served first come, first
// served, so none starves while others keep calling.
type Limiter interface {
	Wait(ctx context.Context) error
}

// interval is the time between two slots at rate per second, rounded up
// so that rounding never raises the rate.
func interval(rate float64) time.Duration {
	return max(time.Nanosecond, time.Duration(math.Ceil(float64(time.Second)/rate)))
}

// mustBeValid panics unless rate is a positive finite number and burst is
// at least 1: a limiter without them cannot be built, and both come from
// validated configuration.
func mustBeValid(rate float64, burst int) {
	if !(rate > 0) || math.IsInf(rate, 1) {
		panic(fmt.Sprintf("ratelimit: rate %v is not a positive number of requests per second", rate))
	}
	if burst < 1 {
		panic(fmt.Sprintf("ratelimit: burst %d is less than 1", burst))
	}
}
