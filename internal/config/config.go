// Package config loads the bridge's configuration file: the tenants (each
// with its 8x8 credentials and Regal key), Redis, and the settings of the
// collector and the dispatcher. One file serves both services; each reads
// its own section.
//
// Values may reference the environment as ${NAME}, the way to keep secrets
// out of the file. A referenced variable that is not set is an error.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

// Config is the whole file.
type Config struct {
	Redis      Redis      `yaml:"redis"`
	Tenants    []Tenant   `yaml:"tenants"`
	Collector  Collector  `yaml:"collector"`
	Dispatcher Dispatcher `yaml:"dispatcher"`
	Log        Log        `yaml:"log"`
	Telemetry  Telemetry  `yaml:"telemetry"`
}

// Telemetry configures what the services expose besides OTEL_* variables
// (which configure trace export and sampling).
type Telemetry struct {
	// PhoneHashSalt keys the HMAC that turns a contact's E.164 phone into
	// the cc.phone_hash span attribute, so a trace can be found by phone
	// without the phone being stored in clear. Set a secret value: with a
	// known salt, every number of a country can be tried.
	PhoneHashSalt secret.Secret `yaml:"phone_hash_salt"`
	// Pprof serves Go's profiles under /debug/pprof/ on each service's
	// metrics address. Off by default: turn it on to find where CPU goes.
	Pprof bool `yaml:"pprof"`
}

// Redis is how both services reach Redis.
type Redis struct {
	Addr     string        `yaml:"addr"`
	Username string        `yaml:"username"`
	Password secret.Secret `yaml:"password"`
	DB       int           `yaml:"db"`
}

// Tenant is one 8x8 contact center and the Regal account it feeds.
type Tenant struct {
	// Name is the 8x8 tenant name (Configuration Manager › Profile).
	Name  string      `yaml:"name"`
	SAPI  TenantSAPI  `yaml:"sapi"`
	Regal TenantRegal `yaml:"regal"`
	// CRM holds the 8x8 CRM API credentials the customer shares with Regal
	// (for the Regal → 8x8 actions); optional, never printed.
	CRM TenantCRM `yaml:"crm"`
}

// TenantCRM holds a tenant's 8x8 CRM API credentials.
type TenantCRM struct {
	Username string        `yaml:"username"`
	Password secret.Secret `yaml:"password"`
}

// TenantSAPI holds a tenant's Streaming API connection.
type TenantSAPI struct {
	// BaseURL is the tenant's cluster, e.g. https://vcc-na12.8x8.com.
	BaseURL string `yaml:"base_url"`
	// Username is the API Token screen's username (normally the tenant name).
	Username string `yaml:"username"`
	// Token is the Data Request Token.
	Token secret.Secret `yaml:"token"`
	// SubscriptionID is this bridge's stable subsId; 8x8 replays the events
	// of a dropped connection when the same subsId reconnects.
	SubscriptionID string `yaml:"subscription_id"`
}

// TenantRegal holds a tenant's Regal account.
type TenantRegal struct {
	APIKey secret.Secret `yaml:"api_key"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
}

// Collector is the collector's section.
type Collector struct {
	// GRPCListen is the address of the DeliveryService.
	GRPCListen string `yaml:"grpc_listen"`
	// MetricsListen serves /metrics (Prometheus) and /healthz.
	MetricsListen string `yaml:"metrics_listen"`
	// StreamMaxAge ends each dispatcher's delivery stream after about this
	// long (after its in-flight deliveries settle), so streams rebalance
	// over dispatchers and their RPC spans end; 0 keeps them open.
	StreamMaxAge time.Duration `yaml:"stream_max_age"`
	// OutputFormat is the SAPI desiredOutputType.
	OutputFormat string `yaml:"output_format"`
	// Transport is "streaming" (HTTP streaming, the default) or
	// "websocket" (wss:// on the same path).
	Transport string `yaml:"transport"`
	// MaxEventBytes bounds one SAPI event.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// IdleTimeout drops and reconnects a SAPI stream silent for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// AdmitBatch is the most events admitted to Redis in one round trip.
	AdmitBatch int       `yaml:"admit_batch"`
	Store      Store     `yaml:"store"`
	Scheduler  Scheduler `yaml:"scheduler"`
	// DeliveryAuth is what the DeliveryService asks of dispatchers: bearer
	// tokens, TLS, mTLS. Empty: dispatchers are not authenticated.
	DeliveryAuth grpcauth.ServerConfig `yaml:"delivery_auth"`
	// Query is the operators' QueryService and the timeline it reads.
	Query Query `yaml:"query"`
}

// Query configures the QueryService and the timeline store behind it.
type Query struct {
	// Listen is the QueryService address. The service runs when Auth sets
	// tokens or a client CA.
	Listen string `yaml:"listen"`
	// Auth authenticates operators (tokens: use ${ENV_VAR}).
	Auth grpcauth.ServerConfig `yaml:"auth"`
	// Retention is how long the timeline keeps an interaction after its
	// last change.
	Retention time.Duration `yaml:"retention"`
	// RawMaxBytes caps the raw SAPI payload kept per event.
	RawMaxBytes int `yaml:"raw_max_bytes"`
	// Redis, when its addr is set, holds the timeline instead of the main
	// redis. The timeline is a large, write-heavy record (a few KB per
	// event for the retention); in the main Redis its writes, fsyncs and
	// AOF rewrites delay the admission and settlement of events, which
	// need appendfsync always. A Redis of its own can run appendfsync
	// everysec (deploy/redis-timeline.conf).
	Redis Redis `yaml:"redis"`
}

// Store configures the Redis event store.
type Store struct {
	KeyPrefix       string        `yaml:"key_prefix"`
	Partitions      int           `yaml:"partitions"`
	DedupTTL        time.Duration `yaml:"dedup_ttl"`
	TraceTTL        time.Duration `yaml:"trace_ttl"`
	MalformedMaxLen int64         `yaml:"malformed_max_len"`
	// DeadLetterMaxLen and DeadLetterMaxAge bound each dead-letter stream
	// (one per tenant and partition): beyond them the oldest dead letters
	// are dropped for good, counted, after a warning from 80 % of either.
	DeadLetterMaxLen int64         `yaml:"dead_letter_max_len"`
	DeadLetterMaxAge time.Duration `yaml:"dead_letter_max_age"`
	// DeadLetterCheckInterval is how often the bounds are checked and
	// applied.
	DeadLetterCheckInterval time.Duration `yaml:"dead_letter_check_interval"`
}

// Scheduler configures delivery scheduling.
type Scheduler struct {
	MaxBuffered        int           `yaml:"max_buffered"`
	DefaultMaxInFlight int           `yaml:"default_max_in_flight"`
	RetryDelayMin      time.Duration `yaml:"retry_delay_min"`
	RetryDelayMax      time.Duration `yaml:"retry_delay_max"`
	// MaxAttempts and MaxRetryAge bound the Regal attempts of one event
	// across redeliveries before it is dead-lettered.
	MaxAttempts int           `yaml:"max_attempts"`
	MaxRetryAge time.Duration `yaml:"max_retry_age"`
	// SettleLinger gathers settlements for at most this long before one
	// Redis write (one fsync), see scheduler.Config.SettleLinger.
	SettleLinger time.Duration `yaml:"settle_linger"`
	// DeadLetterPolicy is "hold" (an interaction's later events wait
	// behind its dead-lettered event until it is replayed: order) or
	// "skip" (they go on: flow), see scheduler.Config.DeadLetterPolicy.
	DeadLetterPolicy string `yaml:"dead_letter_policy"`
	// PauseDelay is how long a paused tenant's deliveries wait when the
	// dispatcher does not say when it probes again.
	PauseDelay time.Duration `yaml:"pause_delay"`
}

// maxPrefetch bounds dispatcher.prefetch: events sent ahead wait idle,
// and more than a few seconds' worth only keeps them from other
// dispatchers.
const maxPrefetch = 4096

// Dispatcher is the dispatcher's section.
type Dispatcher struct {
	// CollectorAddr is the collector's DeliveryService address.
	CollectorAddr string `yaml:"collector_addr"`
	// ID names this dispatcher; defaults to the host name and process id.
	ID string `yaml:"id"`
	// MaxInFlight bounds the events this dispatcher works on at once.
	MaxInFlight int `yaml:"max_in_flight"`
	// Prefetch is how many events beyond MaxInFlight the collector sends
	// ahead, to wait here for a free slot: a finished Regal request is
	// followed at once by the next, not after its ack's round trip through
	// the collector. It costs no order (the collector holds an
	// interaction's next event until the previous one's ack) and is
	// delivered again elsewhere if this dispatcher goes away.
	Prefetch int `yaml:"prefetch"`
	// MetricsListen serves /metrics (Prometheus) and /healthz; several
	// dispatchers on one host need distinct ports (or 127.0.0.1:0).
	MetricsListen string `yaml:"metrics_listen"`
	// ShutdownGrace is how long a stopping dispatcher finishes its work.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	Regal         Regal         `yaml:"regal"`
	Mapping       Mapping       `yaml:"mapping"`
	// CollectorAuth is how the dispatcher authenticates to the collector's
	// DeliveryService (collector.delivery_auth).
	CollectorAuth grpcauth.ClientConfig `yaml:"collector_auth"`
}

// Regal configures the Regal events API client.
type Regal struct {
	BaseURL        string        `yaml:"base_url"`
	Timeout        time.Duration `yaml:"timeout"`
	MaxAttempts    int           `yaml:"max_attempts"`
	BackoffInitial time.Duration `yaml:"backoff_initial"`
	BackoffMax     time.Duration `yaml:"backoff_max"`
	// RateLimit is the requests per second allowed per Regal account (per
	// tenant), shared by every dispatcher through Redis; 0 turns it off.
	// The default keeps 5 % under Regal's documented 300/s, and a burst well
	// under Regal's, so that requests bunched by network jitter still fit.
	RateLimit float64 `yaml:"rate_limit"`
	// RateBurst is how many requests may go at once after a quiet period.
	RateBurst int `yaml:"rate_burst"`
	// RateLimitDispatchers is at least the number of dispatchers running:
	// it sizes each one's share when Redis is unreachable.
	RateLimitDispatchers int `yaml:"rate_limit_dispatchers"`
	// PauseProbeInterval is how often a tenant paused because Regal
	// refuses its key (401/403) or URL (404) is probed with one real
	// pending event; the tenant resumes on the first probe Regal accepts.
	PauseProbeInterval time.Duration `yaml:"pause_probe_interval"`
}

// Mapping is the 8x8 → Regal event mapping. Empty fields take the defaults
// (the table in the README); a non-empty events list replaces the default
// table entirely.
type Mapping struct {
	Events        []MappedEvent `yaml:"events"`
	EventSource   string        `yaml:"event_source"`
	DefaultRegion string        `yaml:"default_region"`
	// DispositionNames adds "disposition" ("None", "Try Again", …) next to a
	// documented disposition_code; on when unset.
	DispositionNames *bool `yaml:"disposition_names"`
}

// MappedEvent maps one SAPI event name to a Regal event name.
type MappedEvent struct {
	Source string `yaml:"source"`
	Name   string `yaml:"name"`
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Load reads, expands and parses a configuration file, applies defaults and
// validates it.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(b, os.LookupEnv)
}

// Parse is Load over bytes, with lookup resolving ${NAME} references.
func Parse(b []byte, lookup func(string) (string, bool)) (*Config, error) {
	var missing []string
	expanded := envRef.ReplaceAllFunc(b, func(m []byte) []byte {
		name := string(envRef.FindSubmatch(m)[1])
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("config references unset environment variables: %s", strings.Join(missing, ", "))
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		// yaml errors quote lines, which may hold expanded secrets: report
		// only the position-free message kind.
		return nil, fmt.Errorf("parse config: %s", sanitizeYAMLError(err))
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	return cfg, nil
}

// sanitizeYAMLError keeps the line numbers and field names of a YAML error
// but drops quoted values, which could be secrets.
func sanitizeYAMLError(err error) string {
	return yamlQuoted.ReplaceAllString(err.Error(), "`…`")
}

var yamlQuoted = regexp.MustCompile("`[^`]*`")

// Default returns every default value.
func Default() *Config {
	return &Config{
		Redis:     Redis{Addr: "127.0.0.1:6379"},
		Log:       Log{Level: "info"},
		Telemetry: Telemetry{PhoneHashSalt: "ccbridge"},
		Collector: Collector{
			GRPCListen:    "127.0.0.1:7070",
			MetricsListen: "127.0.0.1:9464",
			StreamMaxAge:  30 * time.Minute,
			OutputFormat:  "NEWLINE_JSON",
			MaxEventBytes: 1 << 20,
			IdleTimeout:   180 * time.Second,
			AdmitBatch:    256,
			Store: Store{KeyPrefix: "ccb", Partitions: 16, DedupTTL: 3 * time.Hour, TraceTTL: 24 * time.Hour, MalformedMaxLen: 10000,
				DeadLetterMaxLen: 10000, DeadLetterMaxAge: 7 * 24 * time.Hour, DeadLetterCheckInterval: time.Minute},
			Scheduler: Scheduler{MaxBuffered: 50000, DefaultMaxInFlight: 128,
				RetryDelayMin: 500 * time.Millisecond, RetryDelayMax: 30 * time.Second,
				MaxAttempts: 100, MaxRetryAge: 30 * time.Minute, SettleLinger: 2 * time.Millisecond,
				DeadLetterPolicy: "hold", PauseDelay: 30 * time.Second},
			Query: Query{Listen: "127.0.0.1:7071", Retention: 7 * 24 * time.Hour, RawMaxBytes: 16 << 10},
		},
		Dispatcher: Dispatcher{
			CollectorAddr: "127.0.0.1:7070",
			MetricsListen: "127.0.0.1:9465",
			MaxInFlight:   128,
			Prefetch:      32,
			ShutdownGrace: 10 * time.Second,
			Regal: Regal{BaseURL: "https://events.regalvoice.com", Timeout: 5 * time.Second,
				MaxAttempts: 5, BackoffInitial: 100 * time.Millisecond, BackoffMax: 5 * time.Second,
				RateLimit: 285, RateBurst: 10, RateLimitDispatchers: 4, PauseProbeInterval: 30 * time.Second},
			Mapping: Mapping{EventSource: "8x8", DefaultRegion: "US"},
		},
	}
}

var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate reports every invalid setting at once. Messages name fields,
// never secret values.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Redis.Addr == "" {
		add("redis.addr is required")
	}
	if len(c.Tenants) == 0 {
		add("tenants: at least one tenant is required")
	}
	seen := map[string]bool{}
	for i, t := range c.Tenants {
		where := fmt.Sprintf("tenants[%d]", i)
		if !tenantName.MatchString(t.Name) {
			add("%s.name %q must be 1-64 letters, digits, '.', '_' or '-'", where, t.Name)
		}
		if seen[t.Name] {
			add("%s.name %q is listed twice", where, t.Name)
		}
		seen[t.Name] = true
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level must be debug, info, warn or error, got %q", c.Log.Level)
	}
	return errors.Join(errs...)
}

// ValidateCollector checks what the collector needs beyond Validate.
func (c *Config) ValidateCollector() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Collector.GRPCListen == "" {
		add("collector.grpc_listen is required")
	}
	if err := c.Collector.DeliveryAuth.Validate(); err != nil {
		add("collector.delivery_auth: %v", err)
	}
	if err := c.Collector.Query.Auth.Validate(); err != nil {
		add("collector.query.auth: %v", err)
	}
	if r := c.Collector.Query.Redis; r.Addr == "" && (r.Username != "" || !r.Password.IsZero() || r.DB != 0) {
		add("collector.query.redis.addr is required when its username, password or db is set (without it the timeline is kept in redis)")
	}
	for i, t := range c.Tenants {
		where := fmt.Sprintf("tenants[%d] (%s).sapi", i, t.Name)
		if t.SAPI.BaseURL == "" {
			add("%s.base_url is required", where)
		}
		if t.SAPI.Username == "" {
			add("%s.username is required", where)
		}
		if t.SAPI.Token.IsZero() {
			add("%s.token is required (the Data Request Token; use ${ENV_VAR})", where)
		}
		if t.SAPI.SubscriptionID == "" {
			add("%s.subscription_id is required (a stable id, distinct from other integrations)", where)
		}
	}
	return errors.Join(errs...)
}

// ValidateDispatcher checks what the dispatcher needs beyond Validate.
func (c *Config) ValidateDispatcher() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Dispatcher.CollectorAddr == "" {
		add("dispatcher.collector_addr is required")
	}
	if c.Dispatcher.MaxInFlight < 1 {
		add("dispatcher.max_in_flight must be positive")
	}
	if c.Dispatcher.Prefetch < 0 || c.Dispatcher.Prefetch > maxPrefetch {
		add("dispatcher.prefetch must be between 0 and %d, got %d", maxPrefetch, c.Dispatcher.Prefetch)
	}
	if r := c.Dispatcher.Regal; r.RateLimit < 0 || (r.RateLimit > 0 && (r.RateBurst < 1 || r.RateLimitDispatchers < 1)) {
		add("dispatcher.regal: rate_limit must be >= 0, and with a rate limit rate_burst and rate_limit_dispatchers must be positive")
	}
	if p := c.Dispatcher.Regal.PauseProbeInterval; p != 0 && (p < 100*time.Millisecond || p > time.Hour) {
		add("dispatcher.regal.pause_probe_interval must be between 100ms and 1h, got %s", p)
	}
	for i, t := range c.Tenants {
		if t.Regal.APIKey.IsZero() {
			add("tenants[%d] (%s).regal.api_key is required (use ${ENV_VAR})", i, t.Name)
		}
	}
	return errors.Join(errs...)
}
