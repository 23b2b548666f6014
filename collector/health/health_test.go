package health_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/ccbridge/bridge/collector/health"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// redis stands for Redis answering the monitor's pings.
type redis struct{}

func (*redis) ping(ctx context.Context) error { return ctx.Err() }

// failing returns the names of the checks that fail, with their errors.
func failing(checks []telemetry.Check) string {
	var out []string
	for _, c := range checks {
		if err := c.Check(); err != nil {
			out = append(out, c.Name+": "+err.Error())
		}
	}
	return strings.Join(out, "; ")
}

func TestMonitorLifecycle(t *testing.T) {
	r := &redis{}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return health.New(r.ping) },
		// Start cannot fail before Shutdown: it launches the probe loops.
	})
}

// TestMonitor_readiness_follows_the_lifecycle_redis_and_the_checks_added
// walks a monitor through its states; liveness never depends on Redis.
func TestMonitor_readiness_follows_the_lifecycle_redis_and_the_checks_added(t *testing.T) {
	r := &redis{}
	var leases sync.Mutex
	leasesErr := errors.New("tenant lease not held: acme")
	m := health.New(r.ping, health.WithChecks(telemetry.Check{Name: "leases", Check: func() error {
		leases.Lock()
		defer leases.Unlock()
		return leasesErr
	}}))
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	steps := []struct {
		name        string
		do          func(t *testing.T)
		wantFailing []string // check names that fail, in order
	}{
		{"new: not started, no ping yet", func(*testing.T) {}, []string{"started", "redis", "leases"}},
		{"starting: Redis answered", func(t *testing.T) {
			if !m.Starting() {
				t.Fatal("Starting() = false on a new monitor")
			}
			if err := m.WaitRedis(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, []string{"started", "leases"}},
		{"running with the leases held", func(t *testing.T) {
			leases.Lock()
			leasesErr = nil
			leases.Unlock()
			if err := m.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"shutting down", func(t *testing.T) {
			if err := m.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, []string{"started"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			got := failing(m.Readiness())
			for _, name := range st.wantFailing {
				if !strings.Contains(got, name+": ") {
					t.Errorf("failing checks %q, want %s among them", got, name)
				}
			}
			if len(st.wantFailing) == 0 && got != "" {
				t.Errorf("failing checks %q, want none", got)
			}
			if live := failing(m.Liveness()); live != "" {
				t.Errorf("liveness fails: %s", live)
			}
		})
	}
	if m.Starting() {
		t.Error("Starting() = true after Shutdown")
	}
	if err := m.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}

// TestMonitor_grpc_health_follows_readiness_and_each_stream serves the
// monitor's gRPC health: "" and the services named are NOT_SERVING until
// it runs and SERVING then; each tenant's stream has its own entry.
func TestMonitor_grpc_health_follows_readiness_and_each_stream(t *testing.T) {
	r := &redis{}
	var streaming atomic.Bool
	m := health.New(r.ping, health.WithServices("svc.Delivery"),
		health.WithStreams(func() map[string]bool { return map[string]bool{"acme": streaming.Load()} }))
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	m.Register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := healthpb.NewHealthClient(conn)
	status := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN // not known yet
		}
		return resp.GetStatus()
	}
	for _, svc := range []string{"", "svc.Delivery"} {
		if got := status(svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("%q before Start: %v, want NOT_SERVING", svc, got)
		}
	}
	if err := m.WaitRedis(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"", "svc.Delivery"} {
		if got := status(svc); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%q once running: %v, want SERVING", svc, got)
		}
	}
	poll.Until(t, "sapi/acme NOT_SERVING", func() bool { return status("sapi/acme") == healthpb.HealthCheckResponse_NOT_SERVING })
	streaming.Store(true)
	poll.Until(t, "sapi/acme SERVING", func() bool { return status("sapi/acme") == healthpb.HealthCheckResponse_SERVING })
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"", "svc.Delivery", "sapi/acme"} {
		if got := status(svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("%q after Shutdown: %v, want NOT_SERVING", svc, got)
		}
	}
}
