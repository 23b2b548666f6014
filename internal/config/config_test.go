package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"unset_env_var_is_named", "two-tenants.yaml", env(partial), "GLOBEX_REGAL_KEY"},
		{"unknown_field_rejected", "unknown-field.yaml", env(nil), "adress"},
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
		{"dispatcher_negative_prefetch", func(c *Config) { c.Dispatcher.Prefetch = -1 }, (*Config).ValidateDispatcher, "dispatcher.prefetch must be between 0 and 4096, got -1"},
		{"dispatcher_prefetch_too_large", func(c *Config) { c.Dispatcher.Prefetch = 5000 }, (*Config).ValidateDispatcher, "dispatcher.prefetch must be between 0 and 4096, got 5000"},
		{"bad_tenant_name", func(c *Config) { c.Tenants[0].Name = "acme corp{1}" }, (*Config).Validate, "must be 1-64"},
		{"duplicate_tenant", func(c *Config) { c.Tenants[1].Name = c.Tenants[0].Name }, (*Config).Validate, "listed twice"},
		{"bad_log_level", func(c *Config) { c.Log.Level = "loud" }, (*Config).Validate, "log.level"},
		{"stall_floor_above_ceiling", func(c *Config) { c.Collector.IdleTimeout = 10 * time.Second }, (*Config).ValidateCollector, "collector.idle_timeout_min (15s) must be positive and at most collector.idle_timeout (10s)"},
		{"one_missed_heartbeat", func(c *Config) { c.Collector.MissedHeartbeats = 1 }, (*Config).ValidateCollector, "collector.missed_heartbeats must be at least 2"},
		{"lease_ttl_too_short", func(c *Config) { c.Collector.Lease.TTL = 100 * time.Millisecond }, (*Config).ValidateCollector, "collector.lease.ttl must be at least 1s"},
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

func TestDeployExampleLoads(t *testing.T) {
	b, err := os.ReadFile("../../deploy/bridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(b, func(string) (string, bool) { return "x", true })
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
