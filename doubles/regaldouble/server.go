package regaldouble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is the Regal double. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	logger *slog.Logger

	mu       sync.Mutex
	received recordLog
	stats    Stats
	faults   []Fault
	cond     conditions
	buckets  map[int]*tokenBucket // by API key index, made on first use
	rng      *rand.Rand           // draws ErrorRate
	changed  chan struct{}        // closed when an event is recorded; nil until WaitCount waits

	lifecycle   sync.Mutex
	httpServer  *http.Server
	url         string
	stopHandler context.CancelFunc // aborts fault delays on shutdown
	serveDone   chan struct{}
	serveErr    error
	shutDown    bool
	shutdownErr error
}

// New returns a Server that is not yet listening. A nil logger discards
// logs. The server logs one line per accepted event, with phone numbers
// masked and without the API key.
func New(cfg Config, logger *slog.Logger) *Server {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, logger: logger, cond: cfg.conditions(), rng: newRand(cfg.Seed)}
}

// Start listens on the configured address and serves in the background
// until Shutdown. It fails if no API key is configured, if a standing
// condition in the Config is out of range, if the server was
// already started, or if the address cannot be bound; ctx bounds only the
// bind.
func (s *Server) Start(ctx context.Context) error {
	if err := s.cfg.validate(); err != nil {
		return err
	}
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.httpServer != nil || s.shutDown {
		return errors.New("regaldouble: server already started or shut down")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("regaldouble: listen: %w", err)
	}
	handlerCtx, stopHandler := context.WithCancel(context.Background())
	s.stopHandler = stopHandler
	s.httpServer = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return handlerCtx },
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.url = "http://" + ln.Addr().String()
	s.serveDone = make(chan struct{})
	go func() {
		defer close(s.serveDone)
		if err := s.httpServer.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return nil
}

// URL is the base URL to give a Regal client, e.g. "http://127.0.0.1:41234"
// (the client appends "/events"). It is empty before Start.
func (s *Server) URL() string {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	return s.url
}

// Shutdown stops the server, waiting for requests in flight until ctx is
// done and then closing their connections. It is idempotent: later calls
// return the first call's result. A server never started shuts down at
// once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.shutDown {
		return s.shutdownErr
	}
	s.shutDown = true
	if s.httpServer == nil {
		return nil
	}
	s.stopHandler()
	err := s.httpServer.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.httpServer.Close())
	}
	<-s.serveDone
	s.shutdownErr = errors.Join(err, s.serveErr)
	return s.shutdownErr
}

// newRand is the ErrorRate source for seed.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed))
}
