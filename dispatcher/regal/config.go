package regal

import (
	"context"
	"errors"

	"fmt"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultBaseURL        = "https://events.regalvoice.com"
	DefaultTimeout        = 5 * time.Second
	DefaultMaxAttempts    = 5
	DefaultBackoffInitial = 100 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultMaxRetryAfter  = 30 * time.Second
)

// Config tunes a Client. Zero fields take the Default* values.
type Config struct {
	// BaseURL is the scheme and host of Regal's events API, without
	// "/events".
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one attempt: connecting, sending and reading the
	// response.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts is the number of attempts per Send (per event), the
	// first included; then the dispatcher gives the event back and the
	// collector delivers it again later.
	MaxAttempts int `yaml:"max_attempts"`
	// BackoffInitial is the ceiling of the first retry's wait (after a
	// 5xx, a 429 or a network error); the ceiling doubles on each retry up
	// to BackoffMax, and the wait is drawn uniformly below it (full jitter).
	BackoffInitial time.Duration `yaml:"backoff_initial"`
	// BackoffMax caps the backoff ceiling.
	BackoffMax time.Duration `yaml:"backoff_max"`
	// MaxRetryAfter caps a wait requested by a Retry-After response header.
	// Not a setting of the configuration file.
	MaxRetryAfter time.Duration `yaml:"-"`
	// UserAgent names the sender (product and dispatcher id), so a request
	// can be traced back to the dispatcher that made it.
	UserAgent string `yaml:"-"`
	// TracerProvider and MeterProvider receive the client's spans (one per
	// attempt, with the HTTP CLIENT span inside) and metrics; nil means
	// the global providers.
	TracerProvider trace.TracerProvider `yaml:"-"`
	MeterProvider  metric.MeterProvider `yaml:"-"`
	// Limiter, when set, is waited on before every attempt, so retries
	// count against the Regal account's request rate too. When it also
	// has a Throttled(ctx) method (ratelimit.Adaptive), it is called on
	// every 429, so that the rate backs off.
	Limiter interface {
		Wait(ctx context.Context) error
	} `yaml:"-"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffInitial == 0 {
		c.BackoffInitial = DefaultBackoffInitial
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return c
}

// Validate reports every invalid field of c after defaults are applied:
// BaseURL must be an absolute http or https URL with no query or fragment,
// durations and MaxAttempts must be positive, and BackoffInitial must not
// exceed BackoffMax.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if err := validateBaseURL(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("regal: timeout must be positive, got %s", c.Timeout))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("regal: max_attempts must be positive, got %d", c.MaxAttempts))
	}
	if c.BackoffInitial < 0 {
		errs = append(errs, fmt.Errorf("regal: backoff_initial must be positive, got %s", c.BackoffInitial))
	}
	if c.BackoffMax < 0 {
		errs = append(errs, fmt.Errorf("regal: backoff_max must be positive, got %s", c.BackoffMax))
	}
	if c.BackoffInitial > c.BackoffMax {
		errs = append(errs, fmt.Errorf("regal: backoff_initial (%s) exceeds backoff_max (%s)", c.BackoffInitial, c.BackoffMax))
	}
	if c.MaxRetryAfter < 0 {
		errs = append(errs, fmt.Errorf("regal: max_retry_after must be positive, got %s", c.MaxRetryAfter))
	}
	return errors.Join(errs...)
}

func validateBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// The parse error quotes the input, which may hold a password.
		return errors.New("regal: base_url is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("regal: base_url %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return fmt.Errorf("regal: base_url %q: host is missing", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("regal: base_url %q: must not carry user info, a query or a fragment", u.Redacted())
	}
	return nil
}

// eventsURL is BaseURL with the events path appended.
func (c Config) eventsURL() string {
	return strings.TrimRight(c.BaseURL, "/") + "/events"
}

// Settings is what the configuration file sets about Regal: the client's
// Config, and how the dispatcher paces each Regal account around its
// clients (the shared rate limit, the probes of a paused account).
type Settings struct {
	Config `yaml:",inline"`
	// RateLimit is the requests per second allowed per Regal account (per
	// tenant), shared by every dispatcher through Redis; 0 turns it off.
	// It is a ceiling: a 429 lowers the rate (×0.7), which then regains 5 %
	// of the ceiling a second. The default keeps 5 % under Regal's
	// documented 300/s.
	RateLimit float64 `yaml:"rate_limit"`
	// RateBurst is how many requests may go at once after a quiet period:
	// well under Regal's burst, so that requests bunched by network jitter
	// still fit.
	RateBurst int `yaml:"rate_burst"`
	// RateLimitDispatchers is at least the number of dispatchers running:
	// it sizes each one's share when Redis is unreachable.
	RateLimitDispatchers int `yaml:"rate_limit_dispatchers"`
	// PauseProbeInterval is how often a tenant paused because Regal
	// refuses its key (401/403) or URL (404) is probed with one real
	// pending event; the tenant resumes on the first probe Regal accepts.
	// Between 100ms and 10m; 0 takes the default.
	PauseProbeInterval time.Duration `yaml:"pause_probe_interval"`
}

// Defaults of Settings beyond the client's.
const (
	DefaultRateLimit            = 285
	DefaultRateBurst            = 10
	DefaultRateLimitDispatchers = 4
	DefaultPauseProbeInterval   = 30 * time.Second
)

// Bounds of Settings.PauseProbeInterval. The longest is the collector's
// longest pause (10m): a longer one would have the collector offer probes
// the dispatcher refuses as not due.
const (
	minPauseProbeInterval = 100 * time.Millisecond
	maxPauseProbeInterval = 10 * time.Minute
)

// DefaultSettings returns the defaults.
func DefaultSettings() Settings {
	return Settings{Config: DefaultConfig(), RateLimit: DefaultRateLimit, RateBurst: DefaultRateBurst,
		RateLimitDispatchers: DefaultRateLimitDispatchers, PauseProbeInterval: DefaultPauseProbeInterval}
}

// Validate reports every invalid setting, the client's included.
func (s Settings) Validate() error {
	errs := []error{s.Config.Validate()}
	if s.RateLimit < 0 || (s.RateLimit > 0 && (s.RateBurst < 1 || s.RateLimitDispatchers < 1)) {
		errs = append(errs, errors.New("regal: rate_limit must be >= 0, and with a rate limit rate_burst and rate_limit_dispatchers must be positive"))
	}
	if pi := s.PauseProbeInterval; pi != 0 && (pi < minPauseProbeInterval || pi > maxPauseProbeInterval) {
		errs = append(errs, fmt.Errorf("regal: pause_probe_interval must be between 100ms and 10m, got %s", pi))
	}
	return errors.Join(errs...)
}
