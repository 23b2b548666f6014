// Package config loads the bridge's configuration file: the tenants (each
// with its 8x8 credentials and Regal key), Redis, and the settings of the
// collector and the dispatcher. One file serves both services; each reads
// its own section.
//
// Values may reference the environment as ${NAME}, the way to keep secrets
// out of the file; $$ is a literal $. References are expanded in parsed
// values, never in the YAML text, so a variable's value arrives verbatim.
// A referenced variable that is not set is an error. Errors name YAML paths
// (tenants[1].regal.api_key), never values. docs/configuration.md has the
// rules and every key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/registry"
	"github.com/ccbridge/bridge/internal/secret"
)

// Config is the whole file. Its sections embed the components' own
// configuration types (scheduler.Config, eventstore.Config, …): a
// component declares its keys, their documentation and their defaults,
// and validates them; this package decodes the file into them, prefixes
// their problems with the section's YAML path, and adds the rules that
// span sections. docs/configuration.md is generated from these types
// (make docs).
type Config struct {
	// Redis is how both services reach Redis.
	Redis Redis `yaml:"redis"`
	// Tenants are the 8x8 contact centers served, each with the Regal
	// account it feeds; at least one.
	Tenants []Tenant `yaml:"tenants"`
	// Collector is the collector's section: its service settings, then the
	// sections of the parts it builds.
	Collector Collector `yaml:"collector"`
	// Dispatcher is the dispatchers' section (every dispatcher reads the
	// same): their service settings, then the Regal client and the event
	// mapping.
	Dispatcher Dispatcher `yaml:"dispatcher"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Telemetry configures what the services expose besides OTEL_*
	// variables (which configure trace export and sampling).
	Telemetry Telemetry `yaml:"telemetry"`
}

// Telemetry configures what the services expose besides OTEL_* variables
// (which configure trace export and sampling).
type Telemetry struct {
	// PhoneHashSalt keys the HMAC that turns a contact's E.164 phone into
	// the cc.phone_hash span attribute, so a trace can be found by phone
	// without the phone being stored in clear. Required by the dispatcher,
	// at least 16 characters, no default: with a known or short salt, every
	// number of a country can be tried.
	PhoneHashSalt secret.Secret `yaml:"phone_hash_salt"`
	// Pprof serves Go's profiles under /debug/pprof/ on each service's
	// metrics address. Off by default (then the runtime does not sample
	// heap allocations at all): turn it on to find where CPU goes.
	Pprof bool `yaml:"pprof"`
}

// defaultRedisAddr is redis.addr's default, a local Redis.
const defaultRedisAddr = "127.0.0.1:6379"

// Redis is how a service reaches a Redis: one server (addr) or a Redis
// Cluster (cluster: true, with addrs).
type Redis struct {
	// Addr is the Redis address, host:port. Not with cluster (the default
	// then does not apply).
	Addr string `yaml:"addr"`
	// Cluster, when true, reaches a Redis Cluster through Addrs: keys
	// spread over the cluster's slots by tenant and partition (see
	// docs/architecture.md, Running on Redis Cluster).
	Cluster bool `yaml:"cluster"`
	// Addrs are some of the cluster's nodes, host:port each, from which
	// the client learns the rest; required with cluster, not without.
	Addrs []string `yaml:"addrs"`
	// Username and Password authenticate to Redis (ACL user, or the
	// password alone for requirepass).
	Username string        `yaml:"username"`
	Password secret.Secret `yaml:"password"`
	// DB is the Redis database number; 0 with cluster (a cluster has
	// only database 0).
	DB int `yaml:"db"`
}

// Tenant is one 8x8 contact center and the Regal account it feeds.
type Tenant struct {
	// Name is the 8x8 tenant name (Configuration Manager › Profile):
	// letters, digits, '.', '_' and '-'.
	Name string `yaml:"name"`
	// SAPI is the tenant's Streaming API connection; required by the
	// collector.
	SAPI TenantSAPI `yaml:"sapi"`
	// Regal is the tenant's Regal account; required by the dispatchers.
	Regal TenantRegal `yaml:"regal"`
	// CRM holds the 8x8 CRM API credentials the customer shares with Regal
	// (for the Regal → 8x8 actions); optional, never printed.
	CRM TenantCRM `yaml:"crm"`
}

// TenantCRM holds a tenant's 8x8 CRM API credentials.
type TenantCRM struct {
	// Username and Password are the 8x8 CRM API credentials.
	Username string        `yaml:"username"`
	Password secret.Secret `yaml:"password"`
}

// TenantSAPI holds a tenant's Streaming API connection: with the tenant's
// name and the collector's stream settings (sapi.StreamConfig) it makes
// the tenant's sapi.Config (Config.SAPIConfig).
type TenantSAPI struct {
	// BaseURL is the tenant's cluster, e.g. https://vcc-na12.8x8.com.
	BaseURL string `yaml:"base_url"`
	// Username is the API Token screen's username (normally the tenant name).
	Username string `yaml:"username"`
	// Token is the Data Request Token.
	Token secret.Secret `yaml:"token"`
	// SubscriptionID is this bridge's stable subsId, distinct from other
	// integrations' (8x8 allows 3 per tenant); 8x8 replays the events of a
	// dropped connection when the same subsId reconnects.
	SubscriptionID string `yaml:"subscription_id"`
}

// TenantRegal holds a tenant's Regal account.
type TenantRegal struct {
	// APIKey is the tenant's Regal API key.
	APIKey secret.Secret `yaml:"api_key"`
}

// Log configures logging.
type Log struct {
	// Level is the lowest level logged: debug, info, warn or error (JSON
	// logs on stderr).
	Level string `yaml:"level"`
}

// Collector is the collector's section: its own service settings, and the
// sections of the components it builds.
type Collector struct {
	// GRPCListen is the address of the DeliveryService, which dispatchers
	// subscribe to.
	GRPCListen string `yaml:"grpc_listen"`
	// MetricsListen serves /metrics (Prometheus) and /healthz.
	MetricsListen string `yaml:"metrics_listen"`
	// StreamMaxAge ends each dispatcher's delivery stream after about this
	// long (after its in-flight deliveries settle), so streams rebalance
	// over dispatchers and their RPC spans end; 0 keeps them open.
	StreamMaxAge time.Duration `yaml:"stream_max_age"`
	// StreamConfig is how every tenant's SAPI stream is read.
	sapi.StreamConfig `yaml:",inline"`
	// AdmitBatch is the most events admitted to Redis in one round trip.
	AdmitBatch int `yaml:"admit_batch"`
	// Store is the Redis event store: deduplication, delivery streams,
	// dead letters.
	Store eventstore.Config `yaml:"store"`
	// Scheduler schedules deliveries to the dispatchers: memory bounds,
	// redelivery pacing, retry budget.
	Scheduler scheduler.Config `yaml:"scheduler"`
	// DeliveryAuth is what the DeliveryService asks of dispatchers: bearer
	// tokens, TLS, mTLS. Empty: dispatchers are not authenticated, which
	// is allowed on a loopback grpc_listen only.
	DeliveryAuth grpcauth.ServerConfig `yaml:"delivery_auth"`
	// Query is the operators' QueryService and the timeline it reads.
	Query Query `yaml:"query"`
	// PendingMaxBytes bounds the bytes held by events read off SAPI and
	// not yet handed to the scheduler (decoded, batched, being admitted),
	// all tenants together; above it the SAPI readers wait.
	PendingMaxBytes int64 `yaml:"pending_max_bytes"`
	// Lease keeps one collector per tenant (see collector/lease).
	Lease lease.Config `yaml:"lease"`
	// AdvertiseAddr is the DeliveryService address this collector
	// registers for dispatchers to subscribe to, when dispatcher.discovery
	// is redis: host:port reachable from the dispatchers (e.g. the pod's
	// IP). Empty: the address it listens on (collector.grpc_listen, with
	// the port it got), which must then name a host rather than a wildcard.
	AdvertiseAddr string `yaml:"advertise_addr"`
	// Registry is this collector's entry in the collector registry in
	// Redis, when dispatcher.discovery is redis (see internal/registry).
	Registry registry.Config `yaml:"registry"`
	// Balance is how collectors configured with the same tenants share
	// them (see collector/balance): static (each serves all of them; a
	// second refuses to start) or rendezvous (spread over the live
	// collectors, moved when one joins, leaves or dies).
	Balance balance.Config `yaml:"balance"`
}

// Query configures the QueryService and the timeline store behind it.
type Query struct {
	// Listen is the QueryService address. The service runs when its auth
	// sets tokens or a client CA.
	Listen string `yaml:"listen"`
	// Auth authenticates operators (tokens: use ${ENV_VAR}).
	Auth grpcauth.ServerConfig `yaml:"auth"`
	// Config is the timeline's: what it keeps, and for how long.
	timeline.Config `yaml:",inline"`
	// Redis, when its addr (or a cluster's addrs) is set, holds the
	// timeline instead of the main
	// redis. The timeline is a large, write-heavy record (a few KB per
	// event for the retention); in the main Redis its writes, fsyncs and
	// AOF rewrites delay the admission and settlement of events, which
	// need appendfsync always. A Redis of its own can run appendfsync
	// everysec (deploy/redis-timeline.conf). Recommended in production.
	Redis Redis `yaml:"redis"`
}

// The ways dispatchers find the collectors (dispatcher.discovery).
const (
	// DiscoveryStatic: the addresses in the file.
	DiscoveryStatic = "static"
	// DiscoveryRedis: the collector registry in Redis (internal/registry).
	DiscoveryRedis = "redis"
)

// StaticCollectors are the collectors of static discovery:
// collector_addrs, or collector_addr when that is empty.
func (d Dispatcher) StaticCollectors() []string {
	if len(d.CollectorAddrs) > 0 {
		return slices.Clone(d.CollectorAddrs)
	}
	return []string{d.CollectorAddr}
}

// maxPrefetch bounds dispatcher.prefetch: events sent ahead wait idle,
// and more than a few seconds' worth only keeps them from other
// dispatchers.
const maxPrefetch = 4096

// Dispatcher is the dispatcher's section.
type Dispatcher struct {
	// Discovery is how dispatchers find the collectors: static (the
	// addresses in collector_addrs, or collector_addr) or redis (the
	// registry the collectors keep in Redis; see collector.advertise_addr).
	// A dispatcher subscribes to every collector it finds. Empty is static.
	Discovery string `yaml:"discovery"`
	// CollectorAddr is the collector's DeliveryService address: host:port,
	// or a gRPC target such as dns:///host:port. The one-collector form of
	// collector_addrs, used when collector_addrs is empty.
	CollectorAddr string `yaml:"collector_addr"`
	// CollectorAddrs are the DeliveryService addresses of every collector,
	// with static discovery (each as collector_addr); set, they replace
	// collector_addr.
	CollectorAddrs []string `yaml:"collector_addrs"`
	// DiscoveryInterval is how often, with redis discovery, a dispatcher
	// reads the collector registry: a collector that registers is
	// subscribed to within it, one that deregisters is left within it.
	DiscoveryInterval time.Duration `yaml:"discovery_interval"`
	// ID names this dispatcher in the collector's sessions and in traces
	// (also -id, CCB_DISPATCHER_ID); empty: the host name and process id.
	ID string `yaml:"id"`
	// MaxInFlight bounds the events this dispatcher works on at once (its
	// Regal requests open).
	MaxInFlight int `yaml:"max_in_flight"`
	// Prefetch is how many events beyond MaxInFlight the collector sends
	// ahead, to wait here for a free slot: a finished Regal request is
	// followed at once by the next, not after its ack's round trip through
	// the collector. It costs no order (the collector holds an
	// interaction's next event until the previous one's ack) and is
	// delivered again elsewhere if this dispatcher goes away. At most 4096.
	Prefetch int `yaml:"prefetch"`
	// MetricsListen serves /metrics (Prometheus) and /healthz (also
	// -metrics-listen, CCB_METRICS_LISTEN); several dispatchers on one host
	// need distinct ports (or 127.0.0.1:0).
	MetricsListen string `yaml:"metrics_listen"`
	// ShutdownGrace is how long a stopping dispatcher (SIGTERM) finishes
	// its work in flight.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// Regal is the Regal events API client and the pacing of each Regal
	// account.
	Regal regal.Settings `yaml:"regal"`
	// Mapping is the 8x8 → Regal event mapping (docs/mapping.md).
	Mapping translate.Mapping `yaml:"mapping"`
	// CollectorAuth is how the dispatcher authenticates to the collector's
	// DeliveryService (collector.delivery_auth).
	CollectorAuth grpcauth.ClientConfig `yaml:"collector_auth"`
}

// Load reads, expands and parses a configuration file, applies defaults and
// validates it (Validate; each service adds ValidateCollector or
// ValidateDispatcher). Its error lists every problem found, one per line,
// each naming the YAML path and never a value.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(b, os.LookupEnv)
}

// Parse is Load over bytes, with lookup resolving ${NAME} references.
//
// The file is parsed as YAML first; ${NAME} is expanded afterwards, inside
// each scalar value (see expand), so a variable's value is never read as
// YAML and reaches the setting byte for byte. Decoding is strict: an
// unknown key, a key given twice or a value of the wrong type is a
// problem. When the file decodes, Validate runs; its problems are reported
// the same way.
func Parse(b []byte, lookup func(string) (string, bool)) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config: the file is empty")
		}
		return nil, fmt.Errorf("config: not valid YAML: %s%s", sanitizeYAMLError(err), flowHint(b))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("config: the file holds more than one YAML document (a line '---' starts another)")
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: not valid YAML: %s%s", sanitizeYAMLError(err), flowHint(b))
	}
	cfg := Default()
	d := decoder{lookup: lookup}
	d.decode(&doc, reflect.ValueOf(cfg).Elem(), "")
	secrets := append(d.fromEnv, secretValues(reflect.ValueOf(cfg))...)
	if len(d.problems) > 0 {
		return nil, scrub(problems(d.problems), secrets)
	}
	if cfg.Redis.Cluster && cfg.Redis.Addr == defaultRedisAddr {
		// addr's default is for one server; a cluster is reached
		// through addrs.
		cfg.Redis.Addr = ""
	}
	if err := cfg.Validate(); err != nil {
		return nil, scrub(err, secrets)
	}
	return cfg, nil
}

// flowHint explains the likeliest cause of a syntax error in a file with
// references: '{' and '}' are syntax inside [ ] and { }, so a reference
// there must be quoted.
func flowHint(b []byte) string {
	if bytes.Contains(b, []byte("${")) {
		return ` (inside [ ] or { }, quote references: "${NAME}")`
	}
	return ""
}

// sanitizeYAMLError keeps the line numbers and the kind of a YAML syntax
// error but drops quoted text, which could hold a secret written in the
// file.
func sanitizeYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return yamlQuoted.ReplaceAllStringFunc(msg, func(q string) string {
		if strings.HasPrefix(q, "anchor") {
			return "anchor"
		}
		return "…"
	})
}

// yamlQuoted is what a YAML error may quote from the file: backquoted or
// double-quoted text, and anchor names.
var yamlQuoted = regexp.MustCompile("`[^`]*`|\"[^\"]*\"|anchor '[^']*'")

// Default returns every default value: the components' own defaults
// (their DefaultConfig) and those of the services' settings.
func Default() *Config {
	return &Config{
		Redis:     Redis{Addr: defaultRedisAddr},
		Log:       Log{Level: "info"},
		Telemetry: Telemetry{}, // no phone_hash_salt: each deployment sets its own
		Collector: Collector{
			GRPCListen:    "127.0.0.1:7070",
			MetricsListen: "127.0.0.1:9464",
			StreamMaxAge:  30 * time.Minute,
			StreamConfig:  sapi.DefaultStreamConfig(),
			AdmitBatch:    256,
			Store:         eventstore.DefaultConfig(),
			Scheduler:     scheduler.DefaultConfig(),
			Query:         Query{Listen: "127.0.0.1:7071", Config: timeline.DefaultConfig()},
			// Beyond two admission batches of 8x8's events.
			PendingMaxBytes: 8 << 20,
			Lease:           lease.DefaultConfig(),
			Registry:        registry.DefaultConfig(),
			Balance:         balance.DefaultConfig(),
		},
		Dispatcher: Dispatcher{
			Discovery:         DiscoveryStatic,
			CollectorAddr:     "127.0.0.1:7070",
			DiscoveryInterval: 3 * time.Second,
			MetricsListen:     "127.0.0.1:9465",
			MaxInFlight:       128,
			Prefetch:          32,
			ShutdownGrace:     10 * time.Second,
			Regal:             regal.DefaultSettings(),
			Mapping:           translate.DefaultMapping(),
		},
	}
}

var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate reports every invalid setting at once, one per line. Messages
// name YAML paths, never values.
func (c *Config) Validate() error {
	var p problemList
	p = append(p, c.Redis.problems("redis", "127.0.0.1:6379")...)
	if len(c.Tenants) == 0 {
		p.add("tenants: at least one tenant is required")
	}
	seen := map[string]int{}
	for i, t := range c.Tenants {
		if !tenantName.MatchString(t.Name) {
			p.add("tenants[%d].name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", i)
		}
		if first, dup := seen[t.Name]; dup {
			p.add("tenants[%d].name is the name of tenants[%d] too: each tenant is listed once", i, first)
		} else {
			seen[t.Name] = i
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level must be debug, info, warn or error")
	}
	return scrub(problems(p), secretValues(reflect.ValueOf(c)))
}

// minLeaseTTL is the shortest collector.lease.ttl the file may set (the
// lease package takes shorter ones, for tests): a shorter lease can lapse
// in a pause of the collector or of Redis, and another collector take its
// tenant.
const minLeaseTTL = time.Second

// ValidateCollector checks what the collector needs beyond Validate,
// including the validators of the components it builds (SAPI clients,
// event store, scheduler, timeline, leases), without building them.
func (c *Config) ValidateCollector() error {
	var p problemList
	cc := c.Collector
	if cc.GRPCListen == "" {
		p.add("collector.grpc_listen is required")
	} else if !isHostPort(cc.GRPCListen) {
		p.add("collector.grpc_listen must be host:port (e.g. 127.0.0.1:7070)")
	}
	if cc.MetricsListen != "" && !isHostPort(cc.MetricsListen) {
		p.add("collector.metrics_listen must be host:port (e.g. 127.0.0.1:9464)")
	}
	if cc.Lease.TTL < minLeaseTTL {
		p.add("collector.lease.ttl must be at least 1s")
	}
	if cc.Query.Listen != "" && !isHostPort(cc.Query.Listen) {
		p.add("collector.query.listen must be host:port (e.g. 127.0.0.1:7071)")
	}
	if isHostPort(cc.GRPCListen) { // else reported above
		// Events carry phones in clear and an ack settles them for good:
		// off loopback, only authenticated dispatchers may take them.
		if err := grpcauth.RequireOffLoopback(cc.DeliveryAuth, cc.GRPCListen, "collector.grpc_listen", "collector.delivery_auth"); err != nil {
			p.add("%s", err.Error())
		}
	}
	p = append(p, sameAddress(map[string]string{"collector.grpc_listen": cc.GRPCListen,
		"collector.metrics_listen": cc.MetricsListen, "collector.query.listen": cc.Query.Listen})...)
	if c.Dispatcher.Discovery == DiscoveryRedis {
		switch {
		case cc.AdvertiseAddr != "" && !isHostPort(cc.AdvertiseAddr):
			p.add("collector.advertise_addr must be host:port (e.g. 10.0.0.5:7070)")
		case cc.AdvertiseAddr == "" && isHostPort(cc.GRPCListen) && isWildcard(cc.GRPCListen):
			p.add("collector.advertise_addr is required when collector.grpc_listen listens on every interface and dispatcher.discovery is redis: dispatchers need an address they can reach")
		}
	}
	if cc.StreamMaxAge < 0 {
		p.add("collector.stream_max_age must not be negative (0 keeps streams open)")
	}
	if cc.AdmitBatch < 1 {
		p.add("collector.admit_batch must be positive")
	}
	p = append(p, authProblems("collector.delivery_auth", cc.DeliveryAuth.Validate())...)
	p = append(p, authProblems("collector.query.auth", cc.Query.Auth.Validate())...)
	if r := cc.Query.Redis; !r.IsSet() && (r.Username != "" || !r.Password.IsZero() || r.DB != 0) {
		p.add("collector.query.redis.addr is required when its username, password or db is set (without it the timeline is kept in redis)")
	} else if r.IsSet() {
		p = append(p, r.problems("collector.query.redis", "127.0.0.1:6380")...)
	}
	if cc.PendingMaxBytes < 1 {
		p.add("collector.pending_max_bytes must be positive")
	}
	for i, t := range c.Tenants {
		where := fmt.Sprintf("tenants[%d].sapi", i)
		if t.SAPI.BaseURL == "" {
			p.add("%s.base_url is required", where)
		}
		if t.SAPI.Username == "" {
			p.add("%s.username is required", where)
		}
		if t.SAPI.Token.IsZero() {
			p.add("%s.token is required (the Data Request Token; use ${ENV_VAR})", where)
		}
		if t.SAPI.SubscriptionID == "" {
			p.add("%s.subscription_id is required (a stable id, distinct from other integrations)", where)
		}
	}
	p = p.withOthers(c.collectorComponentProblems())
	return scrub(problems(p), secretValues(reflect.ValueOf(c)))
}

// minPhoneHashSaltLen is the shortest telemetry.phone_hash_salt accepted:
// a short salt can be found by trying them against one known phone's hash.
const minPhoneHashSaltLen = 16

// ValidateDispatcher checks what the dispatcher needs beyond Validate,
// including the validators of the Regal client and the event mapping,
// without building them.
func (c *Config) ValidateDispatcher() error {
	var p problemList
	dc := c.Dispatcher
	switch dc.Discovery {
	case DiscoveryStatic, "": // empty in a configuration built in code
		if len(dc.CollectorAddrs) == 0 {
			if dc.CollectorAddr == "" {
				p.add("dispatcher.collector_addr is required (or dispatcher.collector_addrs)")
			} else if !isGRPCTarget(dc.CollectorAddr) {
				p.add("dispatcher.collector_addr must be host:port (e.g. 127.0.0.1:7070) or a gRPC target such as dns:///host:port")
			}
		}
		seen := map[string]int{}
		for i, a := range dc.CollectorAddrs {
			if !isGRPCTarget(a) {
				p.add("dispatcher.collector_addrs[%d] must be host:port (e.g. 127.0.0.1:7070) or a gRPC target such as dns:///host:port", i)
			}
			if first, dup := seen[a]; dup {
				p.add("dispatcher.collector_addrs[%d] is dispatcher.collector_addrs[%d] again: each collector is listed once", i, first)
			} else {
				seen[a] = i
			}
		}
	case DiscoveryRedis:
		if dc.DiscoveryInterval <= 0 {
			p.add("dispatcher.discovery_interval must be positive")
		}
	default:
		p.add("dispatcher.discovery must be %s or %s", DiscoveryStatic, DiscoveryRedis)
	}
	if dc.MetricsListen != "" && !isHostPort(dc.MetricsListen) {
		p.add("dispatcher.metrics_listen must be host:port (e.g. 127.0.0.1:9465)")
	}
	if dc.MaxInFlight < 1 {
		p.add("dispatcher.max_in_flight must be positive")
	}
	if dc.Prefetch < 0 || dc.Prefetch > maxPrefetch {
		p.add("dispatcher.prefetch must be between 0 and %d", maxPrefetch)
	}
	if dc.ShutdownGrace < 0 {
		p.add("dispatcher.shutdown_grace must not be negative")
	}
	p = append(p, authProblems("dispatcher.collector_auth", dc.CollectorAuth.Validate())...)
	for i, t := range c.Tenants {
		if t.Regal.APIKey.IsZero() {
			p.add("tenants[%d].regal.api_key is required (use ${ENV_VAR})", i)
		}
	}
	switch salt := c.Telemetry.PhoneHashSalt.Reveal(); {
	case salt == "":
		p.add("telemetry.phone_hash_salt is required: a secret of at least %d characters (use ${ENV_VAR}) that keys the cc.phone_hash of traces", minPhoneHashSaltLen)
	case len(salt) < minPhoneHashSaltLen:
		p.add("telemetry.phone_hash_salt must be at least %d characters: with a known or short salt, phone numbers can be recovered from traces by trying them", minPhoneHashSaltLen)
	}
	p = p.withOthers(c.dispatcherComponentProblems())
	return scrub(problems(p), secretValues(reflect.ValueOf(c)))
}

// problemList collects a validator's messages.
type problemList []string

func (p *problemList) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// withOthers appends the problems of components' validators, except those
// about a path already reported (the same rule, in other words).
func (p problemList) withOthers(others []string) problemList {
	reported := map[string]bool{}
	for _, m := range p {
		reported[problemPath(m)] = true
	}
	for _, m := range others {
		if !reported[problemPath(m)] {
			p = append(p, m)
		}
	}
	return p
}

// problemPath is the YAML path a message starts with.
func problemPath(msg string) string {
	if i := strings.IndexAny(msg, " :"); i >= 0 {
		return msg[:i]
	}
	return msg
}

// authProblems places grpcauth's messages ("tokens: …", "tls: …") under
// the section at path.
func authProblems(path string, err error) []string {
	return sectionOf(path, grpcauth.ServerConfig{}, grpcauth.ClientConfig{}).problems(err)
}

// isHostPort reports whether addr is host:port with a numeric port (the
// host may be empty: every interface).
func isHostPort(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(host, " \t\r\n/") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// sameAddress reports listen addresses given twice (port 0, any free
// port, may repeat).
func sameAddress(addrs map[string]string) []string {
	keys := make([]string, 0, len(addrs))
	for k := range addrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for i, a := range keys {
		for _, b := range keys[i+1:] {
			if addrs[a] != "" && addrs[a] == addrs[b] && !strings.HasSuffix(addrs[a], ":0") {
				out = append(out, fmt.Sprintf("%s and %s are the same address: each needs its own port", a, b))
			}
		}
	}
	return out
}

// isWildcard reports whether a host:port listens on every interface (no
// host, 0.0.0.0 or ::): not an address another host can dial.
func isWildcard(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// isGRPCTarget accepts what grpc.NewClient dials: host:port, or a target
// with a resolver scheme (dns:///host:port, unix:/path).
func isGRPCTarget(addr string) bool {
	if strings.Contains(addr, ":///") || strings.HasPrefix(addr, "unix:") {
		return !strings.ContainsAny(addr, " \t\r\n")
	}
	return isHostPort(addr)
}
