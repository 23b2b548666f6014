package registry_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func list(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	addrs, err := registry.List(context.Background(), rdb, "ccb")
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

func register(t *testing.T, rdb *redis.Client, addr string, ttl time.Duration) *registry.Registration {
	t.Helper()
	r, err := registry.NewRegistration(rdb, registry.Config{KeyPrefix: "ccb", TTL: ttl}, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r
}

func TestRegistryListsTheLiveCollectors(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	tests := []struct {
		name string
		// act changes the registry; want is what List says afterwards.
		act  func(t *testing.T)
		want []string
	}{
		{"empty_registry", func(*testing.T) {}, nil},
		{"two_registered", func(t *testing.T) {
			register(t, rdb, "10.0.0.2:7070", registry.DefaultTTL)
			register(t, rdb, "10.0.0.1:7070", registry.DefaultTTL)
		}, []string{"10.0.0.1:7070", "10.0.0.2:7070"}},
		{"one_shut_down_cleanly", func(t *testing.T) {
			register(t, rdb, "10.0.0.1:7070", registry.DefaultTTL)
			r := register(t, rdb, "10.0.0.2:7070", registry.DefaultTTL)
			if err := r.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, []string{"10.0.0.1:7070"}},
		{"one_lapsed", func(t *testing.T) {
			register(t, rdb, "10.0.0.1:7070", registry.DefaultTTL)
			// A crashed collector's entry: its expiry has passed.
			if err := rdb.ZAdd(context.Background(), registry.Key("ccb"), redis.Z{Score: 1, Member: "10.0.0.9:7070"}).Err(); err != nil {
				t.Fatal(err)
			}
		}, []string{"10.0.0.1:7070"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := rdb.Del(context.Background(), registry.Key("ccb")).Err(); err != nil {
				t.Fatal(err)
			}
			tt.act(t)
			if got := list(t, rdb); !slices.Equal(got, tt.want) {
				t.Fatalf("List = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRegistrationIsRenewed(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	register(t, rdb, "10.0.0.1:7070", time.Second)
	score := func() float64 {
		s, err := rdb.ZScore(context.Background(), registry.Key("ccb"), "10.0.0.1:7070").Result()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := score()
	poll.Until(t, "the registration's expiry to be pushed back", func() bool { return score() > first })
	if got := list(t, rdb); !slices.Equal(got, []string{"10.0.0.1:7070"}) {
		t.Fatalf("List = %v after renewals", got)
	}
}

func TestNewRegistrationRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  registry.Config
		addr string
	}{
		{"no_address", registry.DefaultConfig(), ""},
		{"no_prefix", registry.Config{TTL: time.Second}, "10.0.0.1:7070"},
		{"ttl_too_short", registry.Config{KeyPrefix: "ccb", TTL: time.Millisecond}, "10.0.0.1:7070"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := registry.NewRegistration(nil, tt.cfg, tt.addr); err == nil {
				t.Fatal("NewRegistration succeeded")
			}
		})
	}
}

func TestRegistrationLifecycle(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			r, err := registry.NewRegistration(srv.Client(t), registry.DefaultConfig(), "10.0.0.1:7070")
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		// Start fails when Redis does not take the registration.
		NewFailing: func(t *testing.T) lifecycletest.Component {
			rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
			t.Cleanup(func() { _ = rdb.Close() })
			r, err := registry.NewRegistration(rdb, registry.DefaultConfig(), "10.0.0.1:7070")
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
	})
}
