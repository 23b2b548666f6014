package telemetry

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/ccbridge/bridge/internal/lifecycletest"
)

// TestMetricsServerLifecycle: ServeMetrics starts a MetricsServer, so the
// adapter's Start serves.
func TestMetricsServerLifecycle(t *testing.T) {
	clearOTelEnv(t)
	tel := setup(t, Config{ServiceName: "collector"})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	component := func(addr string) lifecycletest.Component {
		var s *MetricsServer
		return lifecycletest.Funcs{
			StartFunc: func(context.Context) error {
				var err error
				s, err = ServeMetrics(addr, tel, slog.New(slog.DiscardHandler))
				return err
			},
			ShutdownFunc: func(ctx context.Context) error {
				if s == nil {
					return nil
				}
				return s.Shutdown(ctx)
			},
		}
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New:        func(t *testing.T) lifecycletest.Component { return component("127.0.0.1:0") },
		NewFailing: func(t *testing.T) lifecycletest.Component { return component(taken.Addr().String()) },
	})
}

// TestTelemetryLifecycle: Setup starts a Telemetry, so the adapter's Start
// sets it up.
func TestTelemetryLifecycle(t *testing.T) {
	clearOTelEnv(t)
	component := func(cfg Config) lifecycletest.Component {
		var tel *Telemetry
		return lifecycletest.Funcs{
			StartFunc: func(ctx context.Context) error {
				var err error
				tel, err = Setup(ctx, cfg)
				return err
			},
			ShutdownFunc: func(ctx context.Context) error {
				if tel == nil {
					return nil
				}
				return tel.Shutdown(ctx)
			},
		}
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return component(Config{ServiceName: "collector"}) },
		// Setup refuses a configuration without a service name.
		NewFailing: func(t *testing.T) lifecycletest.Component { return component(Config{}) },
	})
}
