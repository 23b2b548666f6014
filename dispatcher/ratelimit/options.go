package ratelimit

import (
	"log/slog"
	"math"
	"time"
)

// Option tunes a limiter built by NewRedis; NewLocal reads only
// WithAdaptation.
type Option func(*redisOptions)

// redisOptions are NewRedis's settings; zero values mean the defaults.
type redisOptions struct {
	processes     int
	batch         int
	prefetch      int
	prefetchSet   bool
	timeout       time.Duration
	retryInterval time.Duration
	logger        *slog.Logger
	adaptation    Adaptation
}

// Defaults of the Redis limiter.
const (
	// DefaultRedisTimeout bounds one reservation; past it the limiter
	// falls back to its local limit.
	DefaultRedisTimeout = 500 * time.Millisecond
	// DefaultRetryInterval is how often a limiter that fell back tries
	// Redis again.
	DefaultRetryInterval = time.Second
	// maxDefaultBatch caps the default batch.
	maxDefaultBatch = 64
)

// WithProcesses is the number of processes that share the key (default
// 1). Set it to the number of dispatchers: it sizes the local limit used
// while Redis is unreachable (rate/processes, burst/processes) and the
// share of the burst each process may hold in advance (WithPrefetch). The
// shared limit holds only while at most this many processes share the key.
func WithProcesses(n int) Option {
	return func(o *redisOptions) { o.processes = n }
}

// WithBatch is the most slots one process holds reserved at a time, given
// out or not; it reserves again when it holds half of that or fewer, so a
// busy process makes one round trip per batch/2 to batch Waits. The
// default is a tenth of a second's worth of slots, between 1 and 64: the
// capacity a process that stops would leave unused.
func WithBatch(n int) Option {
	return func(o *redisOptions) { o.batch = n }
}

// WithPrefetch is how many slots a process keeps in hand beyond its
// waiting callers, so that a lightly loaded process makes one round trip
// per prefetch+1 Waits. Slots in hand are taken out of the burst given to
// Redis (burst − processes·prefetch), so the sum stays within burst. It is
// capped at (burst−1)/processes and at batch−1; the default is
// (burst−1)/(2·processes) within those caps: 4 for a burst of 30 shared by
// 3 processes.
func WithPrefetch(n int) Option {
	return func(o *redisOptions) { o.prefetch, o.prefetchSet = n, true }
}

// WithRedisTimeout bounds one reservation round trip (default
// DefaultRedisTimeout).
func WithRedisTimeout(d time.Duration) Option {
	return func(o *redisOptions) { o.timeout = d }
}

// WithRetryInterval is how often a limiter that fell back to its local
// limit tries Redis again (default DefaultRetryInterval).
func WithRetryInterval(d time.Duration) Option {
	return func(o *redisOptions) { o.retryInterval = d }
}

// WithLogger receives the warning when Redis becomes unreachable and the
// notice when it is back (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *redisOptions) { o.logger = l }
}

// resolve fills in the defaults and caps for rate and burst.
func (o redisOptions) resolve(rate float64, burst int) redisOptions {
	if o.processes < 1 {
		o.processes = 1
	}
	if o.batch < 1 {
		o.batch = int(min(maxDefaultBatch, max(1, math.Ceil(rate/10))))
	}
	if !o.prefetchSet {
		o.prefetch = (burst - 1) / (2 * o.processes)
	}
	o.prefetch = max(0, min(o.prefetch, o.batch-1, (burst-1)/o.processes))
	if o.timeout <= 0 {
		o.timeout = DefaultRedisTimeout
	}
	if o.retryInterval <= 0 {
		o.retryInterval = DefaultRetryInterval
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	o.adaptation = o.adaptation.withDefaults()
	return o
}
