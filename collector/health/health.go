package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ccbridge/bridge/internal/telemetry"
)

const (
	// probeEvery is how often the probe loop pings Redis and updates the
	// gRPC health.
	probeEvery = time.Second
	// redisPingTimeout bounds one ping.
	redisPingTimeout = time.Second
	// redisReadyWindow: Redis counts as reachable while its last successful
	// ping is this recent (a few pings may fail in a row before the
	// collector reports not ready).
	redisReadyWindow = 5 * time.Second
	// loopStallAfter: the collector is not live when its probe loop has not
	// turned for this long while running.
	loopStallAfter = 30 * time.Second
	// streamsEvery is how often the gRPC health of the tenants' streams is
	// updated.
	streamsEvery = time.Second
	// redisWaitFor bounds how long WaitRedis waits for Redis to answer.
	redisWaitFor = time.Minute
)

// Lifecycle states of a collector.
const (
	stateNew int32 = iota
	stateStarting
	stateRunning
	stateStopping
)

// Option configures a Monitor at New.
type Option func(*Monitor)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(m *Monitor) { m.logger = l } }

// WithChecks adds readiness checks beyond the built-in ones (started,
// redis), e.g. that the collector holds its tenants' leases; /readyz and
// the gRPC health follow them.
func WithChecks(checks ...telemetry.Check) Option {
	return func(m *Monitor) { m.checks = append(m.checks, checks...) }
}

// WithServices names the gRPC services whose health follows readiness,
// beside the server's ("").
func WithServices(names ...string) Option {
	return func(m *Monitor) { m.services = append(m.services, names...) }
}

// WithStreams makes the gRPC health of each tenant's stream,
// "sapi/<tenant>", follow f (tenant → streaming), updated every second
// while running.
func WithStreams(f func() map[string]bool) Option { return func(m *Monitor) { m.streams = f } }

// Monitor keeps the collector's probes. Readiness (/readyz, and the gRPC
// health of "" and of the services named) says whether dispatchers may be
// sent to it: it is started and Redis answers, plus every check added.
// Liveness (/healthz) says only that its own loop turns, so that Redis
// trouble never restarts it (a restart cures nothing there, and replays
// the SAPI backlog).
type Monitor struct {
	ping     func(context.Context) error
	logger   *slog.Logger
	checks   []telemetry.Check
	services []string
	streams  func() map[string]bool
	grpc     *grpchealth.Server

	state    atomic.Int32
	lastPing atomic.Int64 // unix nanoseconds of the last successful Redis ping
	pingErr  atomic.Pointer[string]
	lastTurn atomic.Int64 // unix nanoseconds of the probe loop's last turn

	mu    sync.Mutex
	stop  context.CancelFunc // ends the loops; nil until Start
	loops sync.WaitGroup
}

// New returns a monitor whose Redis check follows ping. Its gRPC health
// server (Register) says NOT_SERVING until the monitor runs and is ready.
func New(ping func(context.Context) error, opts ...Option) *Monitor {
	m := &Monitor{ping: ping, logger: slog.New(slog.DiscardHandler), services: []string{""}}
	for _, opt := range opts {
		opt(m)
	}
	m.grpc = grpchealth.NewServer()
	// Not serving until ready (the health server starts as SERVING).
	for _, s := range m.services {
		m.grpc.SetServingStatus(s, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	return m
}

// Register serves the gRPC health on s.
func (m *Monitor) Register(s grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(s, m.grpc) }

// Starting marks the collector as starting; false when it was started or
// shut down already.
func (m *Monitor) Starting() bool { return m.state.CompareAndSwap(stateNew, stateStarting) }

// WaitRedis waits for Redis to answer (it may be starting, or loading its
// AOF after a restart) for up to a minute, so that a collector restarted
// together with Redis does not give up at once.
func (m *Monitor) WaitRedis(ctx context.Context) error {
	deadline := time.Now().Add(redisWaitFor)
	for {
		err := m.ping(ctx)
		if err == nil {
			m.lastPing.Store(time.Now().UnixNano())
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		m.logger.Warn("waiting for Redis", "err", err)
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Start runs the probe loop (and the streams' health), and marks the
// collector running: from then on the gRPC health follows readiness.
func (m *Monitor) Start(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch st := m.state.Load(); {
	case st == stateStopping:
		return errors.New("health: shut down")
	case m.stop != nil:
		return errors.New("health: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	// The loop counts as turning from now: liveness holds before its
	// goroutine first runs.
	m.lastTurn.Store(time.Now().UnixNano())
	m.loops.Add(1)
	go func() { defer m.loops.Done(); m.probeLoop(ctx) }()
	if m.streams != nil {
		m.loops.Add(1)
		go func() { defer m.loops.Done(); m.watchStreams(ctx) }()
	}
	m.state.CompareAndSwap(stateNew, stateStarting)
	if m.state.CompareAndSwap(stateStarting, stateRunning) {
		m.setHealth()
	}
	return nil
}

// Shutdown marks the collector stopping (not ready), says NOT_SERVING for
// every service, and stops the loops, waiting for them until ctx ends.
// Idempotent and safe before Start.
func (m *Monitor) Shutdown(ctx context.Context) error {
	m.state.Store(stateStopping)
	m.grpc.Shutdown()
	m.mu.Lock()
	if m.stop != nil {
		m.stop()
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.loops.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("probe loops: %w", ctx.Err())
	}
}

// Readiness returns the readiness checks, for /readyz. They hold once
// Start has returned, while Redis answers, and while every check added
// with WithChecks holds.
func (m *Monitor) Readiness() []telemetry.Check {
	checks := []telemetry.Check{
		{Name: "started", Check: m.checkStarted},
		{Name: "redis", Check: m.checkRedis},
	}
	return append(checks, m.checks...)
}

// Liveness returns the liveness checks, for /healthz: the probe loop
// turns. They do not depend on Redis.
func (m *Monitor) Liveness() []telemetry.Check {
	return []telemetry.Check{{Name: "loop", Check: m.checkLoop}}
}

func (m *Monitor) checkStarted() error {
	switch m.state.Load() {
	case stateRunning:
		return nil
	case stateStopping:
		return errors.New("shutting down")
	default:
		return errors.New("starting")
	}
}

func (m *Monitor) checkRedis() error {
	last := m.lastPing.Load()
	if last != 0 && time.Since(time.Unix(0, last)) <= redisReadyWindow {
		return nil
	}
	why := "no ping yet"
	if last != 0 {
		why = fmt.Sprintf("no successful ping for %s", time.Since(time.Unix(0, last)).Round(time.Second))
	}
	if e := m.pingErr.Load(); e != nil {
		why += " (last error: " + *e + ")"
	}
	return errors.New(why)
}

func (m *Monitor) checkLoop() error {
	if m.state.Load() != stateRunning {
		return nil // starting may wait a minute for Redis; stopping is bounded by Shutdown
	}
	if since := time.Since(time.Unix(0, m.lastTurn.Load())); since > loopStallAfter {
		return fmt.Errorf("the probe loop has not turned for %s", since.Round(time.Second))
	}
	return nil
}

// ready reports whether every readiness check holds.
func (m *Monitor) ready() bool {
	for _, ch := range m.Readiness() {
		if ch.Check() != nil {
			return false
		}
	}
	return true
}

// pingRedis records the outcome of one bounded ping.
func (m *Monitor) pingRedis(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := m.ping(ctx); err != nil {
		msg := err.Error()
		m.pingErr.Store(&msg)
		return
	}
	m.pingErr.Store(nil)
	m.lastPing.Store(time.Now().UnixNano())
}

// setHealth makes the gRPC health of "" and of the services named follow
// readiness.
func (m *Monitor) setHealth() {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if m.ready() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, s := range m.services {
		m.grpc.SetServingStatus(s, st)
	}
}

// probeLoop pings Redis and updates the gRPC health every probeEvery
// until ctx ends.
func (m *Monitor) probeLoop(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		m.lastTurn.Store(time.Now().UnixNano())
		m.pingRedis(ctx)
		m.setHealth()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchStreams keeps the gRPC health of each tenant's stream
// ("sapi/<tenant>": SERVING while streaming) current every streamsEvery,
// until ctx ends.
func (m *Monitor) watchStreams(ctx context.Context) {
	t := time.NewTicker(streamsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for tenant, streaming := range m.streams() {
			status := healthpb.HealthCheckResponse_NOT_SERVING
			if streaming {
				status = healthpb.HealthCheckResponse_SERVING
			}
			m.grpc.SetServingStatus("sapi/"+tenant, status)
		}
	}
}
