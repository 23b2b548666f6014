package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/internal/secret"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var secrets = map[string]string{
	"REDIS_PASSWORD":    "redis-pw-5f1e",
	"ACME_SAPI_TOKEN":   "acme-token-0c9d8e7f",
	"ACME_REGAL_KEY":    "acme-regal-key-77aa",
	"GLOBEX_SAPI_TOKEN": "globex-token-1a2b3c",
	"GLOBEX_REGAL_KEY":  "globex-regal-key-99bb",
	"PHONE_HASH_SALT":   "phone-salt-3c4d5e6f7a8b",
}

func load(t *testing.T, name string, lookup func(string) (string, bool)) (*Config, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(b, lookup)
}

func TestLoadTwoTenants(t *testing.T) {
	cfg, err := load(t, "two-tenants.yaml", env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateCollector(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateDispatcher(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"tenant_count", len(cfg.Tenants), 2},
		{"second_tenant_token_from_env", cfg.Tenants[1].SAPI.Token.Reveal(), "globex-token-1a2b3c"},
		{"regal_key_from_env", cfg.Tenants[0].Regal.APIKey.Reveal(), "acme-regal-key-77aa"},
		{"duration_parsed", cfg.Collector.Store.DedupTTL, 4 * time.Hour},
		{"default_kept_for_unset_field", cfg.Collector.Store.Partitions, 16},
		{"mapping_override", cfg.Dispatcher.Mapping.Events[0].Name, "Call Created"},
		{"default_region", cfg.Dispatcher.Mapping.DefaultRegion, "GB"},
		{"default_regal_url", cfg.Dispatcher.Regal.BaseURL, "https://events.regalvoice.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadErrorsAreClearAndSecretFree(t *testing.T) {
	partial := map[string]string{}
	for k, v := range secrets {
		partial[k] = v
	}
	delete(partial, "GLOBEX_REGAL_KEY")
	tests := []struct {
		name    string
		file    string
		lookup  func(string) (string, bool)
		wantErr string
	}{
		{"unset_env_var_is_named", "two-tenants.yaml", env(partial), "tenants[1].regal.api_key: environment variable GLOBEX_REGAL_KEY is not set (line 20)"},
		{"unknown_field_rejected", "unknown-field.yaml", env(nil), "redis.adress: unknown key (did you mean addrs?) (line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, tt.lookup)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to mention %q", err, tt.wantErr)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestValidateServiceSections(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		check   func(*Config) error
		wantErr string
	}{
		{"collector_needs_token", func(c *Config) { c.Tenants[0].SAPI.Token = "" }, (*Config).ValidateCollector, "token is required"},
		{"collector_needs_subscription_id", func(c *Config) { c.Tenants[0].SAPI.SubscriptionID = "" }, (*Config).ValidateCollector, "subscription_id"},
		{"timeline_redis_password_without_addr", func(c *Config) { c.Collector.Query.Redis.Password = "pw" }, (*Config).ValidateCollector, "collector.query.redis.addr is required"},
		{"dispatcher_needs_regal_key", func(c *Config) { c.Tenants[1].Regal.APIKey = "" }, (*Config).ValidateDispatcher, "api_key is required"},
		{"dispatcher_negative_prefetch", func(c *Config) { c.Dispatcher.Prefetch = -1 }, (*Config).ValidateDispatcher, "dispatcher.prefetch must be between 0 and 4096"},
		{"dispatcher_prefetch_too_large", func(c *Config) { c.Dispatcher.Prefetch = 5000 }, (*Config).ValidateDispatcher, "dispatcher.prefetch must be between 0 and 4096"},
		{"bad_tenant_name", func(c *Config) { c.Tenants[0].Name = "acme corp{1}" }, (*Config).Validate, "must be 1-64"},
		{"duplicate_tenant", func(c *Config) { c.Tenants[1].Name = c.Tenants[0].Name }, (*Config).Validate, "tenants[1].name is the name of tenants[0] too"},
		{"bad_log_level", func(c *Config) { c.Log.Level = "loud" }, (*Config).Validate, "log.level"},
		{"salt_unset", func(c *Config) { c.Telemetry.PhoneHashSalt = "" }, (*Config).ValidateDispatcher, "telemetry.phone_hash_salt is required"},
		{"salt_public_default", func(c *Config) { c.Telemetry.PhoneHashSalt = "ccbridge" }, (*Config).ValidateDispatcher, "telemetry.phone_hash_salt must be at least 16 characters"},
		{"salt_short", func(c *Config) { c.Telemetry.PhoneHashSalt = "fifteen-chars-x" }, (*Config).ValidateDispatcher, "telemetry.phone_hash_salt must be at least 16 characters"},
		{"collector_bad_grpc_listen", func(c *Config) { c.Collector.GRPCListen = "localhost" }, (*Config).ValidateCollector, "collector.grpc_listen must be host:port"},
		{"collector_listen_twice", func(c *Config) { c.Collector.Query.Listen = c.Collector.GRPCListen }, (*Config).ValidateCollector, "collector.grpc_listen and collector.query.listen are the same address"},
		{"collector_negative_admit_batch", func(c *Config) { c.Collector.AdmitBatch = -1 }, (*Config).ValidateCollector, "collector.admit_batch must be positive"},
		{"collector_sapi_validator_reached", func(c *Config) { c.Collector.Transport = "carrier-pigeon" }, (*Config).ValidateCollector, `collector.transport must be "streaming" or "websocket"`},
		{"collector_output_format", func(c *Config) { c.Collector.OutputFormat = "CSV" }, (*Config).ValidateCollector, "collector.output_format: unknown output format (want NEWLINE_JSON, JSON, XML or NEWLINE_XML)"},
		{"collector_store_validator_reached", func(c *Config) { c.Collector.Store.DedupTTL = time.Hour }, (*Config).ValidateCollector, "collector.store.dedup_ttl must be at least 2h15m0s (8x8 replays up to 2 h after a disconnect)"},
		{"collector_scheduler_validator_reached", func(c *Config) { c.Collector.Scheduler.SettleLinger = time.Minute }, (*Config).ValidateCollector, "collector.scheduler.settle_linger must be within [0, 1s]"},
		{"collector_timeline_validator_reached", func(c *Config) { c.Collector.Query.RawMaxBytes = 1 }, (*Config).ValidateCollector, "collector.query.raw_max_bytes must be between 256 and 1048576"},
		{"collector_short_delivery_token", func(c *Config) { c.Collector.DeliveryAuth.Tokens = []secret.Secret{"short"} }, (*Config).ValidateCollector, "collector.delivery_auth.tokens: every token must be at least 16 characters"},
		{"dispatcher_regal_validator_reached", func(c *Config) { c.Dispatcher.Regal.BackoffInitial = time.Hour }, (*Config).ValidateDispatcher, "dispatcher.regal.backoff_initial exceeds dispatcher.regal.backoff_max"},
		{"dispatcher_mapping_validator_reached", func(c *Config) { c.Dispatcher.Mapping.DefaultRegion = "Atlantis" }, (*Config).ValidateDispatcher, `dispatcher.mapping.default_region is not a supported region code (use an upper-case ISO 3166-1 code such as "US")`},
		{"dispatcher_collector_auth", func(c *Config) { c.Dispatcher.CollectorAuth.TLS.CertFile = "c.pem" }, (*Config).ValidateDispatcher, "dispatcher.collector_auth.tls: cert_file and key_file go together"},
		{"dispatcher_bad_collector_addr", func(c *Config) { c.Dispatcher.CollectorAddr = "collector" }, (*Config).ValidateDispatcher, "dispatcher.collector_addr must be host:port"},
		{"dispatcher_bad_collector_addrs", func(c *Config) { c.Dispatcher.CollectorAddrs = []string{"127.0.0.1:7070", "collector"} }, (*Config).ValidateDispatcher, "dispatcher.collector_addrs[1] must be host:port"},
		{"dispatcher_collector_listed_twice", func(c *Config) { c.Dispatcher.CollectorAddrs = []string{"10.0.0.1:7070", "10.0.0.1:7070"} }, (*Config).ValidateDispatcher, "dispatcher.collector_addrs[1] is dispatcher.collector_addrs[0] again"},
		{"dispatcher_no_collector", func(c *Config) { c.Dispatcher.CollectorAddr = "" }, (*Config).ValidateDispatcher, "dispatcher.collector_addr is required (or dispatcher.collector_addrs)"},
		{"dispatcher_unknown_discovery", func(c *Config) { c.Dispatcher.Discovery = "dns" }, (*Config).ValidateDispatcher, "dispatcher.discovery must be static or redis"},
		{"dispatcher_discovery_interval", func(c *Config) { c.Dispatcher.Discovery, c.Dispatcher.DiscoveryInterval = DiscoveryRedis, 0 }, (*Config).ValidateDispatcher, "dispatcher.discovery_interval must be positive"},
		{"collector_wildcard_without_advertise_addr", func(c *Config) {
			c.Dispatcher.Discovery, c.Collector.GRPCListen = DiscoveryRedis, "0.0.0.0:7070"
			c.Collector.DeliveryAuth.Tokens = []secret.Secret{"delivery-token-0123456789"}
		}, (*Config).ValidateCollector, "collector.advertise_addr is required when collector.grpc_listen listens on every interface"},
		{"collector_bad_advertise_addr", func(c *Config) { c.Dispatcher.Discovery, c.Collector.AdvertiseAddr = DiscoveryRedis, "collector" }, (*Config).ValidateCollector, "collector.advertise_addr must be host:port"},
		{"collector_registry_ttl_too_short", func(c *Config) { c.Dispatcher.Discovery, c.Collector.Registry.TTL = DiscoveryRedis, time.Millisecond }, (*Config).ValidateCollector, "collector.registry.ttl must be at least 1s"},
		{"stall_floor_above_ceiling", func(c *Config) { c.Collector.IdleTimeout = 10 * time.Second }, (*Config).ValidateCollector, "collector.idle_timeout_min must be positive and at most collector.idle_timeout"},
		{"one_missed_heartbeat", func(c *Config) { c.Collector.MissedHeartbeats = 1 }, (*Config).ValidateCollector, "collector.missed_heartbeats must be at least 2"},
		{"dead_letter_check_interval_too_short", func(c *Config) { c.Collector.Store.DeadLetterCheckInterval = time.Millisecond }, (*Config).ValidateCollector, "collector.store.dead_letter_check_interval must be at least 1s"},
		{"collector_balance_mode_choices", func(c *Config) { c.Collector.Balance.Mode = "random" }, (*Config).ValidateCollector, "collector.balance.mode must be static or rendezvous"},
		{"collector_balance_interval", func(c *Config) { c.Collector.Balance.Mode, c.Collector.Balance.Interval = "rendezvous", 0 }, (*Config).ValidateCollector, "collector.balance.interval must be at least 10ms"},
		{"lease_ttl_too_short", func(c *Config) { c.Collector.Lease.TTL = 100 * time.Millisecond }, (*Config).ValidateCollector, "collector.lease.ttl must be at least 1s"},
		{"collector_scheduler_policy_choices", func(c *Config) { c.Collector.Scheduler.DeadLetterPolicy = "drop" }, (*Config).ValidateCollector, `collector.scheduler.dead_letter_policy must be "hold" or "skip"`},
		{"collector_sapi_identity_under_tenant", func(c *Config) { c.Tenants[1].SAPI.BaseURL = "ftp://vcc-eu3.8x8.com" }, (*Config).ValidateCollector, "tenants[1].sapi.base_url must be an http(s) URL with a host"},
		{"collector_timeline_key_from_mapping", func(c *Config) { c.Dispatcher.Mapping.DefaultRegion = "" }, (*Config).ValidateCollector, "dispatcher.mapping.default_region must not be empty"},
		{"dispatcher_regal_rate_limit", func(c *Config) { c.Dispatcher.Regal.RateLimit = -1 }, (*Config).ValidateDispatcher, "dispatcher.regal.rate_limit must be >= 0"},
		{"dispatcher_regal_pause_probe_interval", func(c *Config) { c.Dispatcher.Regal.PauseProbeInterval = time.Hour }, (*Config).ValidateDispatcher, "dispatcher.regal.pause_probe_interval must be between 100ms and 10m"},
		{"dispatcher_mapping_event_path", func(c *Config) { c.Dispatcher.Mapping.Events[0].Source = "" }, (*Config).ValidateDispatcher, "dispatcher.mapping.events[0].source is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, "two-tenants.yaml", env(secrets))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(cfg)
			if err := tt.check(cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestStaticCollectors(t *testing.T) {
	tests := []struct {
		name string
		one  string
		many []string
		want []string
	}{
		{"collector_addr_alone", "10.0.0.1:7070", nil, []string{"10.0.0.1:7070"}},
		{"collector_addrs_replace_it", "10.0.0.1:7070", []string{"10.0.0.2:7070", "10.0.0.3:7070"}, []string{"10.0.0.2:7070", "10.0.0.3:7070"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Dispatcher{CollectorAddr: tt.one, CollectorAddrs: tt.many}
			if got := d.StaticCollectors(); !slices.Equal(got, tt.want) {
				t.Fatalf("StaticCollectors = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidRedisDiscovery(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"listen_address_advertised", func(*Config) {}},
		{"wildcard_with_advertise_addr", func(c *Config) {
			c.Collector.GRPCListen, c.Collector.AdvertiseAddr = "0.0.0.0:7070", "10.0.0.5:7070"
			c.Collector.DeliveryAuth.Tokens = []secret.Secret{"delivery-token-0123456789"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, "two-tenants.yaml", env(secrets))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Dispatcher.Discovery = DiscoveryRedis
			tt.mutate(cfg)
			if err := cfg.ValidateCollector(); err != nil {
				t.Fatalf("ValidateCollector: %v", err)
			}
			if err := cfg.ValidateDispatcher(); err != nil {
				t.Fatalf("ValidateDispatcher: %v", err)
			}
		})
	}
}

func TestDeployExampleLoads(t *testing.T) {
	b, err := os.ReadFile("../../deploy/bridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Every variable set to a value long enough for any rule.
	cfg, err := Parse(b, func(string) (string, bool) { return "example-value-0123456789", true })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateCollector(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateDispatcher(); err != nil {
		t.Fatal(err)
	}
}
