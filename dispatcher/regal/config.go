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
	// BaseURL is the scheme and host of the events API, without "/events".
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one attempt: connecting, sending and reading the
	// response.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts is the number of attempts per Send, the first included.
	MaxAttempts int `yaml:"max_attempts"`
	// BackoffInitial is the ceiling of the first retry's wait; the ceiling
	// doubles on each retry up to BackoffMax, and the wait is drawn
	// uniformly below it (full jitter).
	BackoffInitial time.Duration `yaml:"backoff_initial"`
	// BackoffMax caps the backoff ceiling.
	BackoffMax time.Duration `yaml:"backoff_max"`
	// MaxRetryAfter caps a wait requested by a Retry-After response header.
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
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
