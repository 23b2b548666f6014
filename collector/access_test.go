package collector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ccbridge/bridge/collector"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/listentest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const (
	tenant        = "acme"
	sapiToken     = secret.Secret("sapi-data-request-token-0123")
	deliveryToken = secret.Secret("delivery-token-0123456789")
	queryToken    = secret.Secret("query-token-0123456789")
)

// env is what a collector needs around it: a real Redis, a SAPI double
// serving the tenant, and telemetry. Shared by the cases of one test.
type env struct {
	redis *redistest.Server
	sapi  *sapidouble.Server
	tel   *telemetry.Telemetry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{redis: redistest.Start(t, redistest.Options{})}
	e.sapi = sapidouble.New(sapidouble.Config{Tenants: map[string]sapidouble.Credentials{tenant: {Username: tenant, Token: sapiToken}}}, nil)
	if err := e.sapi.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sapi.Shutdown(context.Background()) })
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "collector"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	e.tel = tel
	return e
}

// config is a collector configuration on loopback with a delivery token.
func (e *env) config() *config.Config {
	cfg := config.Default()
	cfg.Redis.Addr = e.redis.Addr
	cfg.Tenants = []config.Tenant{{Name: tenant,
		SAPI: config.TenantSAPI{BaseURL: e.sapi.URL(), Username: tenant, Token: sapiToken, SubscriptionID: "bridge"}}}
	cfg.Collector.GRPCListen = "127.0.0.1:0"
	cfg.Collector.DeliveryAuth.Tokens = []secret.Secret{deliveryToken}
	cfg.Collector.Query.Listen = "127.0.0.1:0"
	cfg.Collector.Query.Auth.Tokens = []secret.Secret{queryToken}
	return cfg
}

func (e *env) newCollector(t *testing.T, cfg *config.Config) *collector.Collector {
	t.Helper()
	c, err := collector.New(cfg, slog.New(slog.DiscardHandler), e.tel)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnUnauthenticatedDeliveryServiceOffLoopbackIsRefused(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		listen  string
		tokens  []secret.Secret
		wantErr bool
	}{
		{"all_ipv4_interfaces", "0.0.0.0:0", nil, true},
		{"port_only", ":0", nil, true},
		{"all_ipv6_interfaces", "[::]:0", nil, true},
		{"a_host_name", "collector.internal:7070", nil, true},
		{"loopback_is_allowed_with_a_warning", "127.0.0.1:0", nil, false},
		{"all_interfaces_with_a_token", "0.0.0.0:0", []secret.Secret{deliveryToken}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.config()
			cfg.Collector.GRPCListen = tt.listen
			cfg.Collector.DeliveryAuth.Tokens = tt.tokens
			c, err := collector.New(cfg, slog.New(slog.DiscardHandler), e.tel)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				_ = c.Shutdown(context.Background())
				t.Fatal("New accepted an unauthenticated DeliveryService reachable beyond loopback")
			}
			for _, key := range []string{"collector.grpc_listen", "collector.delivery_auth.tokens", "client_ca_file"} {
				if !strings.Contains(err.Error(), key) {
					t.Errorf("error %q does not name %s", err, key)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// subscribe opens a raw Subscribe stream to addr, as any gRPC client
// could, with token (none when empty), and sends a Hello.
func subscribe(t *testing.T, addr string, token secret.Secret, id string) deliveryv1.DeliveryService_SubscribeClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if !token.IsZero() {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token.Reveal())
	}
	s, err := deliveryv1.NewDeliveryServiceClient(conn).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Send(&deliveryv1.SubscribeRequest{Kind: &deliveryv1.SubscribeRequest_Hello{Hello: &deliveryv1.Hello{DispatcherId: id, MaxInFlight: 16}}})
	return s
}

// TestARogueSubscriberWithoutTokenReceivesNothing: events waiting in Redis
// are not handed to a client without the delivery token (it could read
// the phones and acknowledge them, so they would never reach Regal); the
// dispatcher with the token gets every one as a first delivery.
func TestARogueSubscriberWithoutTokenReceivesNothing(t *testing.T) {
	e := newEnv(t)
	c := e.newCollector(t, e.config())
	const n = 5
	events := make([]*eventv1.Event, n)
	for i := range events {
		id := fmt.Sprintf("int-%d", i)
		events[i] = &eventv1.Event{Tenant: tenant, InteractionId: id, OrderKey: id, EventType: "InteractionCreated",
			DedupKey: "dedup-" + id, Interaction: &eventv1.InteractionFields{CustomerPhone: "5515557212"}}
	}
	// Admitted before Start, as by an earlier run (the collector itself
	// writes nothing before it holds the lease): Start schedules them.
	cfg := e.config()
	earlier, err := eventstore.New(e.redis.Client(t), cfg.Collector.Store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := earlier.Admit(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })

	for _, token := range []secret.Secret{"", "a-guessed-token-0123456789"} {
		rogue := subscribe(t, c.Addr(), token, "dispatcher-1")
		resp, err := rogue.Recv()
		if err == nil {
			t.Fatalf("a client without the delivery token received %v", resp)
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("rogue refused with %v, want Unauthenticated", err)
		}
	}
	legit := subscribe(t, c.Addr(), deliveryToken, "dispatcher-1")
	for range n {
		resp, err := legit.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.GetDelivery().GetRedelivery(); r != 0 {
			t.Fatalf("redelivery %d: the event was handed out before", r)
		}
	}
}

// TestShutdownReturnsAfterAStartThatFailedPartWay: Start fails once the
// DeliveryService serves (the QueryService's port is taken); Shutdown then
// returns at once. It used to wait for pipelines that never ran, so the
// process never exited.
func TestShutdownReturnsAfterAStartThatFailedPartWay(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Collector.Query.Listen = listentest.Listen(t).Addr().String()
	c := e.newCollector(t, cfg)
	if err := c.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "collector.query") {
		t.Fatalf("Start = %v, want the query port's error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after the failed Start: %v", err)
	}
}

func TestCollectorLifecycle(t *testing.T) {
	e := newEnv(t)
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return e.newCollector(t, e.config()) },
		NewFailing: func(t *testing.T) lifecycletest.Component {
			cfg := e.config()
			cfg.Collector.Query.Listen = listentest.Listen(t).Addr().String()
			return e.newCollector(t, cfg)
		},
	})
}

// TestReadinessFollowsRedisAndLivenessDoesNot pauses Redis: the collector
// becomes not ready (/readyz 503 naming redis, gRPC health NOT_SERVING)
// while /healthz stays 200, and ready again when Redis answers.
func TestReadinessFollowsRedisAndLivenessDoesNot(t *testing.T) {
	e := newEnv(t)
	c := e.newCollector(t, e.config())
	ms, err := telemetry.ServeMetrics("127.0.0.1:0", e.tel, slog.New(slog.DiscardHandler),
		telemetry.MetricsOptions{Liveness: c.Liveness(), Readiness: c.Readiness()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Shutdown(context.Background()) })
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + ms.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "started") {
		t.Fatalf("before Start: /readyz = %d %q, want 503 naming started", code, body)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	conn, err := grpc.NewClient(c.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	health := healthpb.NewHealthClient(conn)
	grpcHealth := func() healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: ""})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("started with Redis up: /readyz = %d %q, want 200", code, body)
	}
	if st := grpcHealth(); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("started with Redis up: gRPC health %v, want SERVING", st)
	}

	// Redis stops answering every client for a while.
	if err := e.redis.Client(t).Do(context.Background(), "CLIENT", "PAUSE", "12000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "/readyz says redis is not ready", func() bool {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "redis: ") && !strings.Contains(body, "started")
	})
	// The gRPC health follows at the probe loop's next turn.
	poll.Until(t, "gRPC health is NOT_SERVING", func() bool { return grpcHealth() == healthpb.HealthCheckResponse_NOT_SERVING })
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Fatalf("Redis paused: /healthz = %d %q, want 200 (liveness does not depend on Redis)", code, body)
	}
	poll.Until(t, "/readyz is ready again once Redis answers", func() bool { code, _ := get("/readyz"); return code == http.StatusOK })
	poll.Until(t, "gRPC health is SERVING again", func() bool { return grpcHealth() == healthpb.HealthCheckResponse_SERVING })
}
