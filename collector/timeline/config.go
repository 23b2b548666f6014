package timeline

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the timeline store.
type Config struct {
	// KeyPrefix starts every key: the event store's prefix, so one
	// bridge's keys share it (the file sets it as collector.store.key_prefix).
	KeyPrefix string `yaml:"-"`
	// Retention is how long the timeline keeps an interaction after its
	// last change.
	Retention time.Duration `yaml:"retention"`
	// RawMaxBytes caps the raw SAPI payload kept per event; the normalized
	// event is capped the same way (its attached data is dropped above it).
	RawMaxBytes int `yaml:"raw_max_bytes"`
	// HistoryMaxLen caps the history entries kept per interaction (Redis
	// trims approximately, so slightly more may be kept). Not a setting of
	// the configuration file.
	HistoryMaxLen int64 `yaml:"-"`
	// DefaultRegion reads phone numbers without a country code, as the
	// dispatchers do (the file sets it as dispatcher.mapping.default_region).
	DefaultRegion string `yaml:"-"`
}

// Default values.
const (
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultRawMaxBytes   = 16 << 10
	DefaultHistoryMaxLen = 256
)

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{KeyPrefix: "ccb", Retention: DefaultRetention, RawMaxBytes: DefaultRawMaxBytes,
		HistoryMaxLen: DefaultHistoryMaxLen, DefaultRegion: "US"}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	if c.KeyPrefix == "" {
		errs = append(errs, errors.New("key_prefix must not be empty"))
	}
	if c.Retention < time.Minute {
		errs = append(errs, fmt.Errorf("retention must be at least a minute, got %s", c.Retention))
	}
	if c.RawMaxBytes < 256 || c.RawMaxBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("raw_max_bytes must be between 256 and 1048576, got %d", c.RawMaxBytes))
	}
	if c.HistoryMaxLen < 16 {
		errs = append(errs, fmt.Errorf("history_max_len must be at least 16, got %d", c.HistoryMaxLen))
	}
	if c.DefaultRegion == "" {
		errs = append(errs, errors.New("default_region must not be empty"))
	}
	return errors.Join(errs...)
}
