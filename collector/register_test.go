package collector_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/listentest"
	"github.com/ccbridge/bridge/internal/registry"
)

// TestCollectorRegistersForDispatchers checks that a collector is in the
// collector registry from Start to Shutdown when dispatchers find
// collectors there, under the address they should dial, and never
// otherwise.
func TestCollectorRegistersForDispatchers(t *testing.T) {
	e := newEnv(t)
	rdb := e.redis.Client(t)
	tests := []struct {
		name      string
		discovery string
		advertise string
		// want is the address registered while the collector runs ("" for
		// its listening address), or none.
		want       string
		registered bool
	}{
		{"static_discovery_registers_nothing", config.DiscoveryStatic, "", "", false},
		{"redis_discovery_registers_the_listening_address", config.DiscoveryRedis, "", "", true},
		{"redis_discovery_registers_the_advertised_address", config.DiscoveryRedis, "collector-0.collectors:7070", "collector-0.collectors:7070", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.config()
			cfg.Dispatcher.Discovery = tt.discovery
			cfg.Collector.AdvertiseAddr = tt.advertise
			c := e.newCollector(t, cfg)
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" && tt.registered {
				want = c.Addr()
			}
			var wantList []string
			if tt.registered {
				wantList = []string{want}
			}
			list := func() []string {
				addrs, err := registry.List(context.Background(), rdb, cfg.Collector.Store.KeyPrefix)
				if err != nil {
					t.Fatal(err)
				}
				return addrs
			}
			if got := list(); !slices.Equal(got, wantList) {
				t.Fatalf("registry while running = %v, want %v", got, wantList)
			}
			if got := c.Registered(); got != want {
				t.Fatalf("Registered() = %q, want %q", got, want)
			}
			if err := c.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := list(); len(got) != 0 {
				t.Fatalf("registry after Shutdown = %v, want empty", got)
			}
		})
	}
}

func TestRegisteringCollectorLifecycle(t *testing.T) {
	e := newEnv(t)
	redisDiscovery := func() *config.Config {
		cfg := e.config()
		cfg.Dispatcher.Discovery = config.DiscoveryRedis
		return cfg
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return e.newCollector(t, redisDiscovery()) },
		NewFailing: func(t *testing.T) lifecycletest.Component {
			cfg := redisDiscovery()
			cfg.Collector.Query.Listen = listentest.Listen(t).Addr().String()
			return e.newCollector(t, cfg)
		},
	})
}
