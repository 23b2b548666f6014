package config

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

const clusterYAML = `
redis:
  cluster: true
  addrs: ["10.0.0.1:7000", "10.0.0.2:7000"]
tenants:
  - name: acme
`

func TestRedisClusterParses(t *testing.T) {
	cfg, err := Parse([]byte(clusterYAML), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Redis
	if !r.Cluster || len(r.Addrs) != 2 || r.Addr != "" {
		t.Fatalf("redis = %+v, want a cluster through addrs without the default addr", r)
	}
	rdb := r.NewClient(ClientOptions{ContextTimeoutEnabled: true})
	defer rdb.Close()
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("NewClient built a %T, want a *redis.ClusterClient", rdb)
	}
	if o := cc.Options(); !o.ContextTimeoutEnabled || len(o.Addrs) != 2 {
		t.Fatalf("cluster options %+v lost a setting", o)
	}
}

func TestRedisOneServerClient(t *testing.T) {
	rdb := Redis{Addr: "127.0.0.1:6379", DB: 2}.NewClient(ClientOptions{ContextTimeoutEnabled: true})
	defer rdb.Close()
	c, ok := rdb.(*redis.Client)
	if !ok {
		t.Fatalf("NewClient built a %T, want a *redis.Client", rdb)
	}
	if o := c.Options(); o.DB != 2 || !o.ContextTimeoutEnabled {
		t.Fatalf("options %+v lost a setting", o)
	}
}

func TestRedisValidation(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		check   func(*Config) error
		wantErr string
	}{
		{"cluster_needs_addrs", func(c *Config) { c.Redis = Redis{Cluster: true} }, (*Config).Validate,
			"redis.addrs is required with cluster: true"},
		{"cluster_db_zero", func(c *Config) { c.Redis = Redis{Cluster: true, Addrs: []string{"h:1"}, DB: 3} }, (*Config).Validate,
			"redis.db must be 0 with cluster: true"},
		{"cluster_bad_addr", func(c *Config) { c.Redis = Redis{Cluster: true, Addrs: []string{"h:1", "nohost"}} }, (*Config).Validate,
			"redis.addrs[1] must be host:port"},
		{"cluster_with_addr", func(c *Config) { c.Redis = Redis{Cluster: true, Addr: "h:1", Addrs: []string{"h:2"}} }, (*Config).Validate,
			"redis.addr is for one server"},
		{"addrs_without_cluster", func(c *Config) { c.Redis = Redis{Addr: "h:1", Addrs: []string{"h:2"}} }, (*Config).Validate,
			"redis.addrs is for a Redis Cluster"},
		{"one_server_needs_addr", func(c *Config) { c.Redis = Redis{} }, (*Config).Validate,
			"redis.addr is required"},
		{"timeline_cluster_db_zero", func(c *Config) {
			c.Collector.Query.Redis = Redis{Cluster: true, Addrs: []string{"h:1"}, DB: 1}
		}, (*Config).ValidateCollector, "collector.query.redis.db must be 0 with cluster: true"},
		{"timeline_bad_addr", func(c *Config) { c.Collector.Query.Redis = Redis{Addr: "nohost"} }, (*Config).ValidateCollector,
			"collector.query.redis.addr must be host:port (e.g. 127.0.0.1:6380)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, "two-tenants.yaml", env(secrets))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(cfg)
			err = tt.check(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRedisValidClusterPasses(t *testing.T) {
	cfg, err := load(t, "two-tenants.yaml", env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Redis = Redis{Cluster: true, Addrs: []string{"10.0.0.1:7000"}}
	cfg.Collector.Query.Redis = Redis{Cluster: true, Addrs: []string{"10.0.0.9:7000"}}
	for _, check := range []func(*Config) error{(*Config).Validate, (*Config).ValidateCollector} {
		if err := check(cfg); err != nil {
			t.Fatal(err)
		}
	}
}
