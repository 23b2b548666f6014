package sapidouble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is the SAPI double. Create it with New, then Start it.
type Server struct {
	cfg Config
	log *slog.Logger

	mu         sync.Mutex
	tenants    map[string]*tenantState
	changed    chan struct{} // closed and replaced whenever subscribers change
	replayLast int
	streams    int64 // streams opened so far, to seed each one's chunk splitting
	faults     faultState

	started      bool
	stopped      bool
	listener     net.Listener
	httpServer   *http.Server
	done         chan struct{} // closed by Shutdown: every stream ends
	served       chan struct{} // closed when the HTTP server stops serving
	shutdownDone chan struct{} // closed when Shutdown finished
	shutdownErr  error
}

// New returns a stopped server; nil logger discards logs.
func New(cfg Config, logger *slog.Logger) *Server {
	cfg.setDefaults()
	cfg.Tenants = maps.Clone(cfg.Tenants)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:          cfg,
		log:          logger.With("component", "sapi-double"),
		tenants:      map[string]*tenantState{},
		changed:      make(chan struct{}),
		replayLast:   cfg.ReplayLast,
		faults:       newFaultState(cfg),
		done:         make(chan struct{}),
		served:       make(chan struct{}),
		shutdownDone: make(chan struct{}),
	}
}

// Start listens on Config.Addr and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		return errors.New("sapidouble: server is shut down")
	case s.started:
		return errors.New("sapidouble: server already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sapidouble: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/streaming/v1/clientconnect/subscribe/{updates}", s.handleSubscribe)
	mux.HandleFunc("GET /api/sapi/atmosphere/subscribe/{updates}", s.handleSubscribe)
	if s.cfg.Control {
		s.controlRoutes(mux)
	}
	s.listener = ln
	s.httpServer = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.started = true
	go func() {
		defer close(s.served)
		if err := s.httpServer.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve failed", "error", err)
		}
	}()
	s.log.Info("SAPI double listening", "url", "http://"+ln.Addr().String())
	return nil
}

// URL is the base URL to give a client, e.g. "http://127.0.0.1:34567";
// empty before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return "http://" + s.listener.Addr().String()
}

// Shutdown ends every open stream cleanly and stops the server, waiting for
// handlers until ctx ends (then it closes connections). It is idempotent and
// safe before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		select {
		case <-s.shutdownDone:
			return s.shutdownErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.stopped = true
	close(s.done)
	srv := s.httpServer
	s.mu.Unlock()

	defer close(s.shutdownDone)
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		s.shutdownErr = fmt.Errorf("sapidouble: shutdown: %w", err)
	}
	<-s.served
	return s.shutdownErr
}

// notifyChanged wakes WaitSubscribed callers; s.mu must be held.
func (s *Server) notifyChanged() {
	close(s.changed)
	s.changed = make(chan struct{})
}
