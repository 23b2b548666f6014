package dispatcher_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const deliveryToken = secret.Secret("delivery-token-0123456789")

// collectorAddr serves the DeliveryService (a real scheduler over a real
// Redis, with a token) on a loopback port until the test ends, and returns
// its address.
func collectorAddr(t *testing.T) string {
	t.Helper()
	return startCollector(t).addr
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

// newConnectedDispatcher builds a dispatcher of collector addr with token,
// not started; its telemetry is shut down at cleanup.
func newConnectedDispatcher(t *testing.T, addr string, token secret.Secret) *dispatcher.Dispatcher {
	t.Helper()
	return newDispatcherLogging(t, addr, token, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

// newDispatcherLogging is newConnectedDispatcher logging to logger.
func newDispatcherLogging(t *testing.T, addr string, token secret.Secret, logger *slog.Logger) *dispatcher.Dispatcher {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	cfg := config.Default()
	cfg.Telemetry.PhoneHashSalt = "test-phone-hash-salt"
	cfg.Tenants = []config.Tenant{{Name: "acme", Regal: config.TenantRegal{APIKey: "regal-key-0123456789"}}}
	cfg.Dispatcher.CollectorAddr = addr
	cfg.Dispatcher.CollectorAuth.Token = token
	cfg.Dispatcher.ID = "d1"
	cfg.Dispatcher.ShutdownGrace = 2 * time.Second
	cfg.Dispatcher.Regal.RateLimit = 0
	d, err := dispatcher.New(cfg, logger, tel)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDispatcherLifecycle(t *testing.T) {
	connected := collectorAddr(t)
	tests := []struct {
		name string
		addr string
	}{
		{"connected_to_its_collector", connected},
		{"collector_unreachable", closedAddr(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lifecycletest.Run(t, lifecycletest.Options{
				New: func(t *testing.T) lifecycletest.Component {
					return newConnectedDispatcher(t, tt.addr, deliveryToken)
				},
				// A token too short to be accepted fails Start.
				NewFailing: func(t *testing.T) lifecycletest.Component {
					return newConnectedDispatcher(t, tt.addr, "short")
				},
			})
		})
	}
}

// TestReadinessFollowsTheDeliveryStream checks /readyz of a dispatcher:
// not ready before Start, nor while its collector cannot be reached, nor
// when the collector refuses its token; ready while a stream is open.
func TestReadinessFollowsTheDeliveryStream(t *testing.T) {
	connected := collectorAddr(t)
	tests := []struct {
		name      string
		addr      string
		token     secret.Secret
		wantReady bool
	}{
		{"connected", connected, deliveryToken, true},
		{"collector_unreachable", closedAddr(t), deliveryToken, false},
		{"token_refused", connected, "not-the-delivery-token-0123", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logRecorder{}
			d := newDispatcherLogging(t, tt.addr, tt.token, slog.New(logs))
			tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
			ms, err := telemetry.ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler), telemetry.MetricsOptions{Readiness: d.Readiness()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ms.Shutdown(context.Background()) })
			client := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(client.CloseIdleConnections)
			readyz := func() (int, string) {
				resp, err := client.Get("http://" + ms.Addr() + "/readyz")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "subscribed") {
				t.Fatalf("before Start: /readyz = %d %q, want 503 naming subscribed", code, body)
			}
			if err := d.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.wantReady {
				poll.Until(t, "a connected dispatcher's /readyz to answer 200", func() bool { code, _ := readyz(); return code == http.StatusOK })
			} else {
				// Once it has tried and failed to subscribe, it says so and
				// is not ready.
				poll.Until(t, "a warning that the dispatcher cannot subscribe", func() bool {
					return logs.has(slog.LevelWarn, "cannot subscribe to the collector")
				})
				if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "subscribed: no delivery stream open") {
					t.Fatalf("/readyz = %d %q, want 503 naming subscribed", code, body)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if code, _ := readyz(); code != http.StatusServiceUnavailable {
				t.Fatalf("after Shutdown: /readyz = %d, want 503", code)
			}
		})
	}
}

// logRecorder keeps the level and message of every log record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// has reports whether a record at level has a message containing msg.
func (r *logRecorder) has(level slog.Level, msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.Level == level && strings.Contains(rec.Message, msg) {
			return true
		}
	}
	return false
}
