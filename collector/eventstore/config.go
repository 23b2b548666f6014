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
	// DedupTTL is how long an event's dedup key is kept after the event
	// settles (while it is pending, the key has no TTL): the dedup window.
	// At least 2h15m, since 8x8 replays up to 2 h of events after a
	// disconnect.
	DedupTTL time.Duration `yaml:"dedup_ttl"`
	// TraceTTL is how long an interaction's trace context is kept, so that
	// its later events join the same trace.
	TraceTTL time.Duration `yaml:"trace_ttl"`
	// MalformedMaxLen caps the per-tenant stream of malformed frames kept
	// for inspection (oldest dropped first).
	MalformedMaxLen int64 `yaml:"malformed_max_len"`
	// MalformedMaxBytes is how much of each malformed frame is kept: its
	// first bytes, the frame's full size beside them. With MalformedMaxLen
	// it bounds a tenant's malformed stream in bytes.
	MalformedMaxBytes int `yaml:"malformed_max_bytes"`
	// DeadLetterMaxLen bounds each dead-letter stream (one per tenant and
	// partition) and DeadLetterMaxAge the age of its entries; beyond them
	// the oldest dead letters are dropped for good (counted, and warned of
	// from 80 % of either bound). 0 takes the default.
	DeadLetterMaxLen int64         `yaml:"dead_letter_max_len"`
	DeadLetterMaxAge time.Duration `yaml:"dead_letter_max_age"`
	// DeadLetterCheckInterval is how often the collector checks and applies
	// the dead-letter bounds; each check reads every dead-letter stream of
	// every tenant. 0 takes the default.
	DeadLetterCheckInterval time.Duration `yaml:"dead_letter_check_interval"`
}

// Defaults of the malformed stream: the latest 10,000 frames, 4 KiB of each,
// at most about 59 MiB of Redis memory per tenant (MalformedBound).
const (
	DefaultMalformedMaxLen   = 10000
	DefaultMalformedMaxBytes = 4 << 10
	// maxMalformedMaxBytes keeps malformed_max_bytes a prefix, not a copy
	// of whole frames.
	maxMalformedMaxBytes = 64 << 10
	// malformedReasonBytes bounds the reason kept with a malformed frame.
	malformedReasonBytes = 256
	// malformedEntryOverhead is what one kept malformed frame costs in
	// Redis beyond its bytes and the allocator's rounding of them: the
	// reason, its size and time, the entry id and the stream's own
	// structures.
	malformedEntryOverhead = 1024
	// streamNodeBytes is Redis's stream-node-max-bytes default: trimming
	// drops whole nodes, so up to one node more than the cap may remain.
	streamNodeBytes = 4 << 10
)

// MalformedBound is the most memory, in bytes, one tenant's malformed
// stream takes in Redis: MalformedMaxLen frames of at most
// MalformedMaxBytes, each with its overhead, plus the node that
// approximate trimming may leave. Redis's allocator rounds a block up by
// at most a quarter of its size, hence the 5/4.
func (c *Config) MalformedBound() int64 {
	perEntry := int64(c.MalformedMaxBytes)*5/4 + malformedEntryOverhead
	return c.MalformedMaxLen*perEntry + max(perEntry, streamNodeBytes)
}

// Defaults of the dead-letter bounds.
const (
	DefaultDeadLetterMaxLen        = 10000
	DefaultDeadLetterMaxAge        = 7 * 24 * time.Hour
	DefaultDeadLetterCheckInterval = time.Minute
	// minDeadLetterCheckInterval keeps the checks, which read every
	// dead-letter stream, from becoming a load of their own (the
	// message of Validate names it).
	minDeadLetterCheckInterval = time.Second
)

func (c *Config) setDefaults() {
	if c.DeadLetterMaxLen == 0 {
		c.DeadLetterMaxLen = DefaultDeadLetterMaxLen
	}
	if c.DeadLetterMaxAge == 0 {
		c.DeadLetterMaxAge = DefaultDeadLetterMaxAge
	}
	if c.DeadLetterCheckInterval == 0 {
		c.DeadLetterCheckInterval = DefaultDeadLetterCheckInterval
	}
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{KeyPrefix: "ccb", Partitions: 16, DedupTTL: 3 * time.Hour, TraceTTL: 24 * time.Hour,
		MalformedMaxLen: DefaultMalformedMaxLen, MalformedMaxBytes: DefaultMalformedMaxBytes,
		DeadLetterMaxLen: DefaultDeadLetterMaxLen, DeadLetterMaxAge: DefaultDeadLetterMaxAge,
		DeadLetterCheckInterval: DefaultDeadLetterCheckInterval}
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
	if c.MalformedMaxBytes < 1 || c.MalformedMaxBytes > maxMalformedMaxBytes {
		errs = append(errs, fmt.Errorf("malformed_max_bytes must be between 1 and %d, got %d", maxMalformedMaxBytes, c.MalformedMaxBytes))
	}
	if c.DeadLetterMaxLen < 0 {
		errs = append(errs, fmt.Errorf("dead_letter_max_len must be positive, got %d", c.DeadLetterMaxLen))
	}
	if c.DeadLetterMaxAge < 0 || (c.DeadLetterMaxAge > 0 && c.DeadLetterMaxAge < time.Minute) {
		errs = append(errs, fmt.Errorf("dead_letter_max_age must be at least a minute, got %s", c.DeadLetterMaxAge))
	}
	if i := c.DeadLetterCheckInterval; i < 0 || (i > 0 && i < minDeadLetterCheckInterval) {
		errs = append(errs, fmt.Errorf("dead_letter_check_interval must be at least 1s (0 takes the default, 1m), got %s", i))
	}
	return errors.Join(errs...)
}
