package eventstore

import (
	"errors"
	"fmt"
	"time"
)

// MinDedupTTL is the shortest dedup window that still covers 8x8's replay
// horizon: events are cached for 2 h after a disconnect, plus margin.
const MinDedupTTL = 2*time.Hour + 15*time.Minute

// Config configures the Redis event store.
type Config struct {
	// KeyPrefix starts every key the store writes, so several bridges (or
	// tests) can share one Redis.
	KeyPrefix string `yaml:"key_prefix"`
	// Partitions is the number of delivery streams per tenant. An
	// interaction always lands in the same partition, so its order is kept;
	// partitions spread keys over a Redis Cluster.
	Partitions int `yaml:"partitions"`
	// DedupTTL is how long an event's dedup key is kept.
	DedupTTL time.Duration `yaml:"dedup_ttl"`
	// TraceTTL is how long an interaction's trace context is kept, so that
	// its later events join the same trace.
	TraceTTL time.Duration `yaml:"trace_ttl"`
	// MalformedMaxLen caps the per-tenant stream of malformed frames kept
	// for inspection (oldest dropped first).
	MalformedMaxLen int64 `yaml:"malformed_max_len"`
	// DeadLetterMaxLen bounds each dead-letter stream (one per tenant and
	// partition) and DeadLetterMaxAge the age of its entries; beyond them
	// the oldest dead letters are dropped for good (counted, and warned of
	// from 80 % of either bound). 0 takes the default.
	DeadLetterMaxLen int64         `yaml:"dead_letter_max_len"`
	DeadLetterMaxAge time.Duration `yaml:"dead_letter_max_age"`
}

// Defaults of the dead-letter bounds.
const (
	DefaultDeadLetterMaxLen = 10000
	DefaultDeadLetterMaxAge = 7 * 24 * time.Hour
)

func (c *Config) setDefaults() {
	if c.DeadLetterMaxLen == 0 {
		c.DeadLetterMaxLen = DefaultDeadLetterMaxLen
	}
	if c.DeadLetterMaxAge == 0 {
		c.DeadLetterMaxAge = DefaultDeadLetterMaxAge
	}
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{KeyPrefix: "ccb", Partitions: 16, DedupTTL: 3 * time.Hour, TraceTTL: 24 * time.Hour, MalformedMaxLen: 10000,
		DeadLetterMaxLen: DefaultDeadLetterMaxLen, DeadLetterMaxAge: DefaultDeadLetterMaxAge}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	var errs []error
	if c.KeyPrefix == "" {
		errs = append(errs, errors.New("key_prefix must not be empty"))
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		errs = append(errs, fmt.Errorf("partitions must be between 1 and 1024, got %d", c.Partitions))
	}
	if c.DedupTTL < MinDedupTTL {
		errs = append(errs, fmt.Errorf("dedup_ttl must be at least %s (8x8 replays up to 2 h after a disconnect), got %s", MinDedupTTL, c.DedupTTL))
	}
	if c.TraceTTL < time.Minute {
		errs = append(errs, fmt.Errorf("trace_ttl must be at least a minute, got %s", c.TraceTTL))
	}
	if c.MalformedMaxLen < 1 {
		errs = append(errs, fmt.Errorf("malformed_max_len must be positive, got %d", c.MalformedMaxLen))
	}
	if c.DeadLetterMaxLen < 0 {
		errs = append(errs, fmt.Errorf("dead_letter_max_len must be positive, got %d", c.DeadLetterMaxLen))
	}
	if c.DeadLetterMaxAge < 0 || (c.DeadLetterMaxAge > 0 && c.DeadLetterMaxAge < time.Minute) {
		errs = append(errs, fmt.Errorf("dead_letter_max_age must be at least a minute, got %s", c.DeadLetterMaxAge))
	}
	return errors.Join(errs...)
}
