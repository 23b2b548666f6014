package sapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ccbridge/bridge/internal/secret"
)

// subscribePath is where SAPI serves TenantUpdates streams; the final
// segment "TenantUpdates-{tenant}-{subsId}" is appended.
const subscribePath = "/api/streaming/v1/clientconnect/subscribe/"

// Defaults applied by SetDefaults.
const (
	DefaultReconnectMin = time.Second
	DefaultReconnectMax = 60 * time.Second
	// DefaultIdleTimeout is the longest a stream may stay silent: three of
	// the longest heartbeat intervals 8x8 is thought to use (60 s). It
	// applies until the stream's own interval is learned.
	DefaultIdleTimeout = 180 * time.Second
	// DefaultIdleTimeoutMin is the shortest stall timeout, whatever the
	// learned heartbeat interval: a shorter silence is a hiccup, and a
	// reconnect costs more than it saves.
	DefaultIdleTimeoutMin = 15 * time.Second
	// DefaultMissedHeartbeats is how many heartbeat intervals of silence make
	// a stall.
	DefaultMissedHeartbeats = 3
	// DefaultReplayHorizon is how long 8x8 caches a subscription's events
	// after a disconnect: an outage longer than that may have lost events.
	DefaultReplayHorizon = 2 * time.Hour
)

// Config describes one SAPI subscription: a tenant's identity and
// credentials, how its stream is read (StreamConfig, the same for every
// tenant of a collector) and how reconnects are paced.
type Config struct {
	// BaseURL is the tenant's cluster host, e.g. "https://vcc-na12.8x8.com".
	BaseURL string `yaml:"base_url"`
	// Tenant is the contact center tenant name, e.g. "acmecorp01".
	Tenant string `yaml:"tenant"`
	// Username is the API Token screen's username; SetDefaults uses Tenant
	// when it is empty, which is what 8x8 normally shows.
	Username string `yaml:"username"`
	// Token is the Data Request Token, sent as the Basic auth password.
	Token secret.Secret `yaml:"token"`
	// SubscriptionID is the subsId. Keep it stable: 8x8 caches events per
	// subsId for two hours after a disconnect and replays them on reconnect.
	// A tenant allows three concurrent subscriptions.
	SubscriptionID string `yaml:"subscription_id"`
	StreamConfig   `yaml:",inline"`
	// ReconnectMin is the first backoff after an error; default 1s.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	// ReconnectMax caps the backoff and paces probes while 8x8 answers
	// 401/403; default 60s. Keep outages well under 8x8's 2-hour cache.
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// ReplayHorizon is 8x8's replay cache (2 h): reconnecting after a longer
	// outage raises a possible-gap alert.
	ReplayHorizon time.Duration `yaml:"replay_horizon"`
}

// StreamConfig is how a stream is read: the format asked of 8x8, the
// transport, the size bound of one event and the stall watchdog. Zero
// fields take their defaults (SetDefaults).
type StreamConfig struct {
	// OutputFormat is the desiredOutputType asked of 8x8: NEWLINE_JSON,
	// JSON, XML or NEWLINE_XML (any case).
	OutputFormat string `yaml:"output_format"`
	// Transport is how the stream travels: "streaming" (HTTP streaming) or
	// "websocket" (wss:// on the same path, one event per text frame).
	// Reconnects, backoff and the stall watchdog are the same for both.
	Transport string `yaml:"transport"`
	// MaxEventBytes bounds one event: a larger one is rejected, counted
	// and kept as malformed.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// IdleTimeout is the ceiling of the stall watchdog: a stream that
	// delivered no byte for this long is dropped and reopened. It applies
	// until the stream's heartbeat interval is learned; then
	// MissedHeartbeats intervals of silence are enough (see IdleTimeoutMin).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// IdleTimeoutMin is the floor of the stall watchdog: however short the
	// learned heartbeat interval, a stream is not dropped before this much
	// silence. Set it to IdleTimeout for a fixed watchdog.
	IdleTimeoutMin time.Duration `yaml:"idle_timeout_min"`
	// MissedHeartbeats is how many learned heartbeat intervals of silence
	// make a stall.
	MissedHeartbeats int `yaml:"missed_heartbeats"`
}

// Transports, the values of Config.Transport and of the
// X-Atmosphere-Transport query parameter.
const (
	TransportStreaming = "streaming"
	TransportWebSocket = "websocket"
)

// DefaultConfig returns a Config with every default set and the identity
// fields (URL, tenant, credentials, subscription) left empty.
func DefaultConfig() Config {
	var c Config
	c.SetDefaults()
	return c
}

// DefaultStreamConfig returns the stream settings' defaults.
func DefaultStreamConfig() StreamConfig {
	var s StreamConfig
	s.SetDefaults()
	return s
}

// SetDefaults fills the fields left at their zero value.
func (c *Config) SetDefaults() {
	if c.Username == "" {
		c.Username = c.Tenant
	}
	c.StreamConfig.SetDefaults()
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ReplayHorizon == 0 {
		c.ReplayHorizon = DefaultReplayHorizon
	}
}

// SetDefaults fills the fields left at their zero value.
func (s *StreamConfig) SetDefaults() {
	if s.OutputFormat == "" {
		s.OutputFormat = FormatNewlineJSON.String()
	}
	if s.MaxEventBytes == 0 {
		s.MaxEventBytes = DefaultMaxEventBytes
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.IdleTimeoutMin == 0 {
		s.IdleTimeoutMin = min(DefaultIdleTimeoutMin, s.IdleTimeout)
	}
	if s.MissedHeartbeats == 0 {
		s.MissedHeartbeats = DefaultMissedHeartbeats
	}
	if s.Transport == "" {
		s.Transport = TransportStreaming
	}
}

// Format is OutputFormat parsed; 0 when it names no format (Validate
// reports it).
func (s *StreamConfig) Format() Format {
	f, _ := ParseFormat(s.OutputFormat)
	return f
}

// Validate reports every problem at once. Messages never contain the token.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if u, err := url.Parse(c.BaseURL); c.BaseURL == "" {
		bad("base_url is required (e.g. https://vcc-na12.8x8.com)")
	} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("base_url %q must be an http(s) URL with a host", c.BaseURL)
	} else if u.User != nil {
		bad("base_url must not carry credentials; use username and token")
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("base_url must not have a query or fragment")
	}
	checkName := func(field, v string) {
		switch {
		case v == "":
			bad("%s is required", field)
		case strings.ContainsAny(v, "/?#&=% \t\r\n"):
			bad("%s %q may not contain '/', '?', '#', '&', '=', '%%' or whitespace", field, v)
		}
	}
	checkName("tenant", c.Tenant)
	checkName("subscription_id", c.SubscriptionID)
	if c.Username == "" {
		bad("username is required")
	}
	if c.Token.IsZero() {
		bad("token is required (the Data Request Token)")
	}
	if c.ReconnectMin <= 0 {
		bad("reconnect_min must be positive")
	}
	if c.ReconnectMax < c.ReconnectMin {
		bad("reconnect_max (%s) must be at least reconnect_min (%s)", c.ReconnectMax, c.ReconnectMin)
	}
	if err := c.StreamConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("sapi config: %w", errors.Join(errs...))
	}
	return nil
}

// Validate reports every invalid stream setting, one per line.
func (s *StreamConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := ParseFormat(s.OutputFormat); err != nil {
		bad("output_format: unknown output format (want NEWLINE_JSON, JSON, XML or NEWLINE_XML)")
	}
	if s.MaxEventBytes <= 0 {
		bad("max_event_bytes must be positive")
	}
	if s.IdleTimeout <= 0 {
		bad("idle_timeout must be positive")
	}
	if s.IdleTimeoutMin <= 0 || s.IdleTimeoutMin > s.IdleTimeout {
		bad("idle_timeout_min (%s) must be positive and at most idle_timeout (%s)", s.IdleTimeoutMin, s.IdleTimeout)
	}
	if s.MissedHeartbeats < 2 {
		bad("missed_heartbeats must be at least 2, got %d (one late heartbeat is not a stall)", s.MissedHeartbeats)
	}
	if s.Transport != TransportStreaming && s.Transport != TransportWebSocket {
		bad("transport %q must be %q or %q", s.Transport, TransportStreaming, TransportWebSocket)
	}
	return errors.Join(errs...)
}

// StreamURL is the subscribe URL, in the form 8x8's support article gives:
// {BaseURL}/api/streaming/v1/clientconnect/subscribe/TenantUpdates-{tenant}-{subsId}
// ?desiredOutputType=…&tenantId=…&subsId=…&X-Atmosphere-Transport=streaming.
// With TransportWebSocket the scheme is ws or wss (for http or https) and
// the transport parameter is websocket. It holds no credential, so it is
// safe to log.
func (c *Config) StreamURL() string {
	transport, base := TransportStreaming, strings.TrimRight(c.BaseURL, "/")
	if c.Transport == TransportWebSocket {
		transport = TransportWebSocket
		base = webSocketBase(base)
	}
	query := []string{
		"desiredOutputType=" + url.QueryEscape(c.Format().String()),
		"tenantId=" + url.QueryEscape(c.Tenant),
		"subsId=" + url.QueryEscape(c.SubscriptionID),
		"X-Atmosphere-Transport=" + transport,
	}
	return base + subscribePath +
		"TenantUpdates-" + url.PathEscape(c.Tenant) + "-" + url.PathEscape(c.SubscriptionID) +
		"?" + strings.Join(query, "&")
}

// webSocketBase turns an http(s) base URL into its ws(s) form.
func webSocketBase(base string) string {
	if rest, ok := strings.CutPrefix(base, "https://"); ok {
		return "wss://" + rest
	}
	if rest, ok := strings.CutPrefix(base, "http://"); ok {
		return "ws://" + rest
	}
	return base
}
