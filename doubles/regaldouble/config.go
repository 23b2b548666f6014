// Package regaldouble is a local stand-in for Regal's events API
// (POST /events) for tests and demos. It checks the raw-key Authorization
// header and the body shape of Regal's OpenAPI, answers like Regal, records
// every accepted event, and can be told to misbehave: scripted one-off
// answers (SetFaults), and standing conditions changeable at runtime (a
// per-key rate limit, a random share of 5xx, added latency, an outage,
// slow phone numbers). With Config.Control it also serves an HTTP control
// endpoint under /_double/ so another process can steer it.
package regaldouble

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/ccbridge/bridge/internal/secret"
)

// DefaultAddr listens on the loopback interface on a free port.
const DefaultAddr = "127.0.0.1:0"

// DefaultErrorStatus answers the requests picked by Config.ErrorRate.
const DefaultErrorStatus = 503

// Config configures a Server. The fields after APIKeys are the standing
// conditions the server starts with; Set* methods and the control endpoint
// change them at runtime, and Reset restores them.
type Config struct {
	// Addr is the TCP address to listen on; empty means DefaultAddr.
	Addr string
	// APIKeys are the accepted keys. A request's Authorization header must
	// equal one of them exactly: no scheme such as "Bearer" is stripped.
	APIKeys []secret.Secret

	// RateLimit is the sustained number of requests per second each API
	// key may make (Regal limits per account, and an account has its own
	// key); 0 turns the limit off. Above it the server answers 429 with
	// {"statusCode":429,"message":"Too many requests","error":"Rate Limit Exceeded"}.
	RateLimit float64
	// RateBurst is how many requests a key may make at once after being
	// idle (the token bucket's size). Zero means DefaultBurst(RateLimit).
	RateBurst int
	// RateLimitRetryAfter, when non-empty, is sent as the Retry-After
	// header of rate-limit answers. Regal documents none, so by default
	// none is sent.
	RateLimitRetryAfter string

	// ErrorRate is the fraction, in [0, 1], of otherwise valid requests
	// answered with ErrorStatus instead of being accepted. The draw comes
	// from a source seeded with Seed, so a run is repeatable.
	ErrorRate float64
	// ErrorStatus is the 5xx status of those answers; zero means
	// DefaultErrorStatus.
	ErrorStatus int
	// Seed seeds the ErrorRate draw.
	Seed uint64
	// Latency is added to every answer to POST /events.
	Latency time.Duration
	// SlowPhones holds back the answer to a request whose traits.phones
	// contains one of these E.164 numbers by the given time, to simulate
	// one slow interaction.
	SlowPhones map[string]time.Duration
	// RevokedKeys are indexes into APIKeys whose requests are answered
	// 401 as for an unknown key, as when Regal revokes or rotates a key.
	RevokedKeys []int
	// Rejections answer 400 {"message": Message} to otherwise valid
	// requests they match, as Regal does when it says what is wrong with
	// an event.
	Rejections []Rejection

	// Control serves the control endpoint (/_double/stats,
	// /_double/received, /_double/faults, /_double/reset) without
	// authentication. Keep it off unless the server listens on loopback.
	Control bool
}

// DefaultBurst is the burst used when none is configured: a tenth of a
// second's worth of requests, at least 1 (30 at Regal's 300/s). Regal does
// not document its burst; a small one is the strict choice, so a client
// that stays under this double's limit stays under Regal's.
func DefaultBurst(ratePerSecond float64) int {
	return max(1, int(math.Ceil(ratePerSecond/10)))
}

// validate reports a configuration the server cannot run with.
func (c Config) validate() error {
	if len(c.APIKeys) == 0 {
		return errors.New("regaldouble: no API key configured")
	}
	for i, k := range c.APIKeys {
		if k.IsZero() {
			return fmt.Errorf("regaldouble: API key %d is empty", i)
		}
	}
	return c.conditions().validate()
}

// conditions are the standing conditions c starts the server with.
func (c Config) conditions() conditions {
	return conditions{
		rateLimit:   c.RateLimit,
		rateBurst:   c.RateBurst,
		retryAfter:  c.RateLimitRetryAfter,
		errorRate:   c.ErrorRate,
		errorStatus: c.ErrorStatus,
		latency:     c.Latency,
		slowPhones:  maps.Clone(c.SlowPhones),
		revoked:     slices.Clone(c.RevokedKeys),
		rejections:  slices.Clone(c.Rejections),
	}
}

// Rejection picks requests to refuse with 400: those whose traits.phones
// holds Phone (E.164; empty matches any) and whose event name is Name
// (empty matches any). At least one of the two must be set.
type Rejection struct {
	Phone   string `json:"phone,omitempty"`
	Name    string `json:"name,omitempty"`
	Message string `json:"message"`
}
