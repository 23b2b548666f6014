package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// metricsReadHeaderTimeout bounds how long a client may take to send its
// request headers.
const metricsReadHeaderTimeout = 5 * time.Second

// MetricsServer is the HTTP server a service exposes to Prometheus and to
// its orchestrator's probes:
//   - GET /metrics: the Telemetry's metrics (MetricsHandler);
//   - GET /healthz: liveness, 200 "ok" while the process serves HTTP and
//     every MetricsOptions.Liveness check holds, else 503 with the failing
//     checks. It never depends on Redis or on another service: a failing
//     liveness probe restarts the process, which cures none of those;
//   - GET /readyz: readiness, 200 "ready" while every
//     MetricsOptions.Readiness check holds, else 503 "not ready" and the
//     failing checks, one "name: reason" a line;
//   - /debug/pprof/: Go's profiles, only when MetricsOptions.Pprof is set
//     (they reveal code paths and cost CPU while a profile runs).
type MetricsServer struct {
	server   *http.Server
	listener net.Listener
	served   chan struct{}

	shutdownOnce sync.Once
	shutdownErr  error
}

// MetricsOptions are the optional parts of a MetricsServer.
type MetricsOptions struct {
	// Pprof serves net/http/pprof's handlers under /debug/pprof/.
	Pprof bool
	// Liveness are the checks of /healthz: that the process's own loops
	// turn. Keep dependencies out of them.
	Liveness []Check
	// Readiness are the checks of /readyz: that the service does its work
	// (its dependencies answer, it is connected).
	Readiness []Check
}

// ServeMetrics listens on addr (e.g. "127.0.0.1:9464", or port 0 for a free
// one) and serves in the background until Shutdown. Serving errors are
// logged to logger.
func ServeMetrics(addr string, t *Telemetry, logger *slog.Logger, opts ...MetricsOptions) (*MetricsServer, error) {
	var o MetricsOptions
	for _, x := range opts {
		o.Pprof = o.Pprof || x.Pprof
		o.Liveness = append(o.Liveness, x.Liveness...)
		o.Readiness = append(o.Readiness, x.Readiness...)
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", t.MetricsHandler())
	mux.HandleFunc("GET /healthz", probeHandler(o.Liveness, "ok", "not live"))
	mux.HandleFunc("GET /readyz", probeHandler(o.Readiness, "ready", "not ready"))
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s := &MetricsServer{
		server:   &http.Server{Handler: mux, ReadHeaderTimeout: metricsReadHeaderTimeout},
		listener: listener,
		served:   make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		if err := s.server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "addr", listener.Addr().String(), "error", err)
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on, with the actual port.
func (s *MetricsServer) Addr() string { return s.listener.Addr().String() }

// Shutdown stops accepting connections, waits for in-flight requests until
// ctx is done, then closes the rest. It is idempotent: later calls return
// the first call's result.
func (s *MetricsServer) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		err := s.server.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, s.server.Close())
		}
		<-s.served
		s.shutdownErr = err
	})
	return s.shutdownErr
}
