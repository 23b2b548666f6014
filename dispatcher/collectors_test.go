package dispatcher_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	"github.com/ccbridge/bridge/collector/delivery"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/dispatcher"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/registry"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
	"github.com/ccbridge/bridge/test/promtext"
)

// testCollector is a collector's delivery side (a real scheduler over a
// real Redis of its own, served over gRPC with a token) that a test can
// stop.
type testCollector struct {
	store *eventstore.Store
	sched *scheduler.Scheduler
	addr  string
	stop  func()
	// admitted numbers the events admitted, for distinct interactions.
	admitted atomic.Int64
}

func startCollector(t *testing.T) *testCollector {
	t.Helper()
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	store, err := eventstore.New(rdb, eventstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.DefaultConfig(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts, err := grpcauth.ServerOptions(grpcauth.ServerConfig{Tokens: []secret.Secret{deliveryToken}})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	deliveryv1.RegisterDeliveryServiceServer(srv, delivery.NewServer(sched, noop.NewTracerProvider().Tracer(""), slog.New(slog.DiscardHandler)))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	c := &testCollector{store: store, sched: sched, addr: lis.Addr().String()}
	var stopped atomic.Bool
	c.stop = func() {
		if stopped.Swap(true) {
			return
		}
		_ = sched.Shutdown(context.Background())
		srv.Stop()
		<-served
	}
	t.Cleanup(c.stop)
	return c
}

// admit stores n events of new interactions of tenant acme, of a type
// the mapping does not send (answered "skipped" without Regal), and
// schedules them.
func (c *testCollector) admit(t *testing.T, n int) {
	t.Helper()
	events := make([]*eventv1.Event, n)
	for i := range events {
		id := fmt.Sprintf("int-%d", c.admitted.Add(1))
		events[i] = &eventv1.Event{Tenant: "acme", InteractionId: id, OrderKey: id, EventType: "NotMapped", DedupKey: "dedup-" + id}
	}
	adm, err := c.store.Admit(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]eventstore.Entry, 0, n)
	for _, a := range adm {
		if a.Verdict == eventstore.VerdictNew {
			entries = append(entries, a.Entry)
		}
	}
	if err := c.sched.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
}

// settled is how many of the collector's events were acknowledged and
// settled.
func (c *testCollector) settled() int64 { return c.sched.Stats().Settled }

// sessions is how many dispatchers subscribe to the collector.
func (c *testCollector) sessions() int { return c.sched.Stats().Sessions }

// register puts c in the registry kept in reg, until the
// returned registration is shut down (or the test ends).
func (c *testCollector) register(t *testing.T, reg *redistest.Server) *registry.Registration {
	t.Helper()
	r, err := registry.NewRegistration(reg.Client(t), registry.DefaultConfig(), c.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r
}

// newDispatcherOf builds a dispatcher with the test configuration, changed
// by mutate; not started; shut down at cleanup.
func newDispatcherOf(t *testing.T, mutate func(*config.Config)) *dispatcher.Dispatcher {
	t.Helper()
	d, _ := newDispatcherTel(t, mutate)
	return d
}

// newDispatcherTel is newDispatcherOf with the dispatcher's telemetry.
func newDispatcherTel(t *testing.T, mutate func(*config.Config)) (*dispatcher.Dispatcher, *telemetry.Telemetry) {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	cfg := config.Default()
	cfg.Telemetry.PhoneHashSalt = "test-phone-hash-salt"
	cfg.Tenants = []config.Tenant{{Name: "acme", Regal: config.TenantRegal{APIKey: "regal-key-0123456789"}}}
	cfg.Dispatcher.CollectorAuth.Token = deliveryToken
	cfg.Dispatcher.ID = "d1"
	cfg.Dispatcher.ShutdownGrace = 2 * time.Second
	cfg.Dispatcher.Regal.RateLimit = 0
	mutate(cfg)
	d, err := dispatcher.New(cfg, slog.New(slog.DiscardHandler), tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	return d, tel
}

// staticDiscovery lists addrs in the file.
func staticDiscovery(addrs ...string) func(*config.Config) {
	return func(c *config.Config) { c.Dispatcher.CollectorAddrs = addrs }
}

// redisDiscovery follows the registry in reg, reading it every 50 ms.
func redisDiscovery(reg *redistest.Server) func(*config.Config) {
	return func(c *config.Config) {
		c.Redis.Addr = reg.Addr
		c.Dispatcher.Discovery = config.DiscoveryRedis
		c.Dispatcher.DiscoveryInterval = 50 * time.Millisecond
	}
}

func ready(d *dispatcher.Dispatcher) error { return d.Readiness()[0].Check() }

// TestDispatcherDeliversFromEveryCollector checks that a dispatcher takes
// the events of every collector, however it found them, and that the
// events of one keep flowing when another stops.
func TestDispatcherDeliversFromEveryCollector(t *testing.T) {
	tests := []struct {
		name string
		// discover configures the dispatcher to find a and b.
		discover func(t *testing.T, a, b *testCollector) func(*config.Config)
	}{
		{"static_addresses", func(_ *testing.T, a, b *testCollector) func(*config.Config) {
			return staticDiscovery(a.addr, b.addr)
		}},
		{"redis_registry", func(t *testing.T, a, b *testCollector) func(*config.Config) {
			reg := redistest.Start(t, redistest.Options{})
			a.register(t, reg)
			b.register(t, reg)
			return redisDiscovery(reg)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := startCollector(t), startCollector(t)
			d := newDispatcherOf(t, tt.discover(t, a, b))
			if err := d.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			a.admit(t, 5)
			b.admit(t, 5)
			poll.Until(t, "both collectors' events to be settled", func() bool { return a.settled() == 5 && b.settled() == 5 })

			// a goes away without a word (its registration, if any, stays
			// until its TTL): b's events keep flowing.
			a.stop()
			b.admit(t, 5)
			poll.Until(t, "the other collector's events to be settled", func() bool { return b.settled() == 10 })
			if err := ready(d); err != nil {
				t.Fatalf("not ready with one collector of two subscribed: %v", err)
			}
			if got := d.Stats().Skipped["unmapped_event"]; got != 15 {
				t.Fatalf("dispatcher skipped %d events, want 15", got)
			}
		})
	}
}

// TestDispatcherFollowsTheRegistry checks that a dispatcher subscribes to
// a collector that registers, and leaves one that deregisters, within its
// discovery interval.
func TestDispatcherFollowsTheRegistry(t *testing.T) {
	reg := redistest.Start(t, redistest.Options{})
	d := newDispatcherOf(t, redisDiscovery(reg))
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ready(d); err == nil || !strings.Contains(err.Error(), "no collector registered") {
		t.Fatalf("readiness with an empty registry = %v, want no collector registered", err)
	}

	a := startCollector(t)
	ra := a.register(t, reg)
	poll.Until(t, "the dispatcher to subscribe to the first collector", func() bool { return a.sessions() == 1 })
	poll.Until(t, "the dispatcher to be ready", func() bool { return ready(d) == nil })
	a.admit(t, 3)
	poll.Until(t, "the first collector's events to be settled", func() bool { return a.settled() == 3 })

	b := startCollector(t)
	b.register(t, reg)
	poll.Until(t, "the dispatcher to subscribe to a collector that registered", func() bool { return b.sessions() == 1 })
	b.admit(t, 3)
	poll.Until(t, "the new collector's events to be settled", func() bool { return b.settled() == 3 })

	if err := ra.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the dispatcher to leave the collector that deregistered", func() bool { return a.sessions() == 0 })
	b.admit(t, 3)
	poll.Until(t, "the remaining collector's events to be settled", func() bool { return b.settled() == 6 })
	if err := ready(d); err != nil {
		t.Fatalf("not ready: %v", err)
	}
}

// TestDispatcherWithRegistryLifecycle applies the lifecycle contract to a
// dispatcher following the registry.
func TestDispatcherWithRegistryLifecycle(t *testing.T) {
	reg := redistest.Start(t, redistest.Options{})
	c := startCollector(t)
	c.register(t, reg)
	newDispatcher := func(token secret.Secret) func(t *testing.T) lifecycletest.Component {
		return func(t *testing.T) lifecycletest.Component {
			return newDispatcherOf(t, func(cfg *config.Config) {
				redisDiscovery(reg)(cfg)
				cfg.Dispatcher.CollectorAuth.Token = token
			})
		}
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New: newDispatcher(deliveryToken),
		// A token too short to be accepted fails Start.
		NewFailing: newDispatcher("short"),
	})
}

// TestCollectorStreamsAreMeasured checks the dispatcher's metrics of its
// collectors: the streams by state, and the failed reads of the registry.
func TestCollectorStreamsAreMeasured(t *testing.T) {
	c := startCollector(t)
	tests := []struct {
		name      string
		discover  func(*config.Config)
		want      string // what to wait for
		open      float64
		down      float64
		errorsMin float64
	}{
		{"one_collector_up_one_unreachable", staticDiscovery(c.addr, closedAddr(t)), "one stream open and one down", 1, 1, 0},
		{"registry_unreachable", func(cfg *config.Config) {
			cfg.Redis.Addr = closedAddr(t)
			cfg.Dispatcher.Discovery = config.DiscoveryRedis
			cfg.Dispatcher.DiscoveryInterval = 20 * time.Millisecond
		}, "discovery errors counted", 0, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, tel := newDispatcherTel(t, tt.discover)
			ms, err := telemetry.ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ms.Shutdown(context.Background()) })
			if err := d.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(client.CloseIdleConnections)
			poll.Until(t, tt.want, func() bool {
				resp, err := client.Get("http://" + ms.Addr() + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				m, err := promtext.Parse(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return promtext.Sum(m, "ccb_dispatcher_collector_streams", `state="open"`) == tt.open &&
					promtext.Sum(m, "ccb_dispatcher_collector_streams", `state="down"`) == tt.down &&
					promtext.Sum(m, "ccb_dispatcher_discovery_errors_total") >= tt.errorsMin
			})
		})
	}
}
