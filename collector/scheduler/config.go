package scheduler

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds the scheduler's memory and paces redeliveries.
type Config struct {
	// MaxBuffered bounds the events held in memory (queued, in flight or
	// settling). Enqueue blocks above it, so the SAPI readers wait instead
	// of the buffer growing without bound; the backlog stays in Redis.
	MaxBuffered int `yaml:"max_buffered"`
	// MaxBufferedBytes bounds the same events by the memory they hold
	// (the decoded event, its raw frame and its stored encoding, as
	// eventstore.EntryBytes counts them), since 8x8 events range from a few hundred bytes to
	// collector.max_event_bytes. Enqueue waits while either bound is reached; the
	// byte bound is soft by one entry, so an entry larger than it still
	// goes through when the buffer is below it.
	MaxBufferedBytes int64 `yaml:"max_buffered_bytes"`
	// MaxInFlightBytes bounds, per session (one dispatcher's delivery
	// stream), the bytes of the deliveries handed to it and not yet settled (counted as MaxBufferedBytes counts
	// them; a dispatcher receives about a third: no raw frame, no attached
	// data). Like the session's count bound it is soft by one delivery.
	MaxInFlightBytes int64 `yaml:"max_in_flight_bytes"`
	// DefaultMaxInFlight bounds the deliveries in flight to a session
	// whose dispatcher names no bound of its own in its Hello.
	DefaultMaxInFlight int `yaml:"default_max_in_flight"`
	// RetryDelayMin and RetryDelayMax pace the redelivery of an event a
	// dispatcher gave back as retryable (doubling per try).
	RetryDelayMin time.Duration `yaml:"retry_delay_min"`
	RetryDelayMax time.Duration `yaml:"retry_delay_max"`
	// SettleBatch is the most settlements written to Redis in one round
	// trip. Not a setting of the configuration file.
	SettleBatch int `yaml:"-"`
	// SettleLinger is how long the settlement writer waits for more
	// settlements after the first of a batch. With appendfsync always,
	// Redis fsyncs once per batch of writes: batching a steady trickle of
	// acknowledgements saves hundreds of fsyncs a second, which the
	// admission of new events would otherwise queue behind. It delays the
	// next event of the same interaction by at most this much. 0 writes at
	// once.
	SettleLinger time.Duration `yaml:"settle_linger"`
	// MaxAttempts and MaxRetryAge are the retry budget of one event across
	// all its deliveries: when the Regal attempts reported for it reach
	// MaxAttempts, or it keeps failing for MaxRetryAge, it is dead-lettered
	// with its last error. Until then a failed event is delivered again
	// (RetryDelayMin doubling to RetryDelayMax), so a Regal outage shorter
	// than the budget is ridden out without dead letters.
	MaxAttempts int           `yaml:"max_attempts"`
	MaxRetryAge time.Duration `yaml:"max_retry_age"`
	// DeadLetterPolicy is what a dead letter does to its interaction
	// (PolicyHold, PolicySkip). "hold" keeps order: the dead-lettered
	// event stays parked at the head of its interaction, whose later
	// events wait (durably, across restarts) until it is replayed
	// (delivered first) or dropped. "skip" keeps flow: the interaction's
	// later events go on, and a replay delivers the event after them.
	DeadLetterPolicy string `yaml:"dead_letter_policy"`
	// PauseDelay is how long a tenant's deliveries wait after a dispatcher
	// answered "tenant paused" without saying when it probes again; then
	// one of them is offered as a probe.
	PauseDelay time.Duration `yaml:"pause_delay"`
}

// Default byte bounds. 32 MiB holds about 4,000 to 6,000 events of 8x8's
// usual size (5 to 9 KB each once decoded and stored), far more than the
// dispatchers have in flight; 8 MiB per session is over a thousand such
// deliveries, beyond a dispatcher's max_in_flight + prefetch.
const (
	DefaultMaxBufferedBytes int64 = 32 << 20
	DefaultMaxInFlightBytes int64 = 8 << 20
)

// Dead-letter policies.
const (
	PolicyHold = "hold"
	PolicySkip = "skip"
)

// Bounds of the delay a dispatcher may ask for with "tenant paused".
const (
	minPauseDelay = 10 * time.Millisecond
	maxPauseDelay = 10 * time.Minute
)

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		MaxBuffered:        50000,
		MaxBufferedBytes:   DefaultMaxBufferedBytes,
		MaxInFlightBytes:   DefaultMaxInFlightBytes,
		DefaultMaxInFlight: 128,
		RetryDelayMin:      500 * time.Millisecond,
		RetryDelayMax:      30 * time.Second,
		SettleBatch:        512,
		SettleLinger:       2 * time.Millisecond,
		MaxAttempts:        100,
		MaxRetryAge:        30 * time.Minute,
		DeadLetterPolicy:   PolicyHold,
		PauseDelay:         30 * time.Second,
	}
}

// Validate reports invalid settings.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxBuffered < 1 {
		errs = append(errs, fmt.Errorf("max_buffered must be positive, got %d", c.MaxBuffered))
	}
	if c.MaxBufferedBytes < 1 || c.MaxInFlightBytes < 1 {
		errs = append(errs, fmt.Errorf("max_buffered_bytes and max_in_flight_bytes must be positive, got %d and %d", c.MaxBufferedBytes, c.MaxInFlightBytes))
	}
	if c.DefaultMaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("default_max_in_flight must be positive, got %d", c.DefaultMaxInFlight))
	}
	if c.RetryDelayMin <= 0 || c.RetryDelayMax < c.RetryDelayMin {
		errs = append(errs, fmt.Errorf("retry delays must satisfy 0 < min <= max, got %s and %s", c.RetryDelayMin, c.RetryDelayMax))
	}
	if c.MaxAttempts < 1 || c.MaxRetryAge <= 0 {
		errs = append(errs, fmt.Errorf("max_attempts and max_retry_age must be positive, got %d and %s", c.MaxAttempts, c.MaxRetryAge))
	}
	if c.SettleLinger < 0 || c.SettleLinger > time.Second {
		errs = append(errs, fmt.Errorf("settle_linger must be within [0, 1s], got %s", c.SettleLinger))
	}
	if c.DeadLetterPolicy != PolicyHold && c.DeadLetterPolicy != PolicySkip {
		errs = append(errs, fmt.Errorf("dead_letter_policy must be %q or %q, got %q", PolicyHold, PolicySkip, c.DeadLetterPolicy))
	}
	if c.PauseDelay < minPauseDelay || c.PauseDelay > maxPauseDelay {
		errs = append(errs, fmt.Errorf("pause_delay must be within [%s, %s], got %s", minPauseDelay, maxPauseDelay, c.PauseDelay))
	}
	if c.SettleBatch < 1 {
		errs = append(errs, fmt.Errorf("settle_batch must be positive, got %d", c.SettleBatch))
	}
	return errors.Join(errs...)
}
