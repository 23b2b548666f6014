package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/ccbridge/bridge/collector/delivery"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// Stats counts what the collector saw since start.
type Stats struct {
	received    atomic.Int64 // decoded events (heartbeats and malformed frames excluded)
	heartbeats  atomic.Int64
	malformed   atomic.Int64
	admitted    atomic.Int64 // new events stored for delivery
	duplicates  atomic.Int64
	admitErrors atomic.Int64
	recovered   atomic.Int64 // unsettled events found in Redis at start
	restartGaps atomic.Int64 // collector restarts after a SAPI outage longer than the replay cache
	settled     atomic.Int64
	deadLetters atomic.Int64
}

// Snapshot is a copy of the counters.
type Snapshot struct {
	Received, Heartbeats, Malformed, Admitted, Duplicates, AdmitErrors, Recovered, Settled, DeadLetters int64
}

// Collector is one collector process's work. Create with New, then Start;
// Shutdown stops it in order.
type Collector struct {
	cfg    *config.Config
	logger *slog.Logger
	rdb    *redis.Client
	// timelineRDB is the timeline's own Redis (collector.query.redis);
	// nil when the timeline is kept in rdb.
	timelineRDB *redis.Client
	store       *eventstore.Store
	sched       *scheduler.Scheduler
	grpc        *grpc.Server
	health      *health.Server
	tel         *telemetry.Telemetry
	inst        *instruments
	lis         net.Listener
	stats       Stats

	timeline *timeline.Store
	recorder *timeline.Recorder
	query    *query.Server

	// pending bounds the bytes of events between the SAPI readers and
	// the scheduler, all tenants together.
	pending   *byteBudget
	pipelines []*pipeline
	clients   []*sapi.Client
	recovery  sync.WaitGroup
	stopOnce  sync.Once
	stopRecov context.CancelFunc
	leases    *lease.Manager // one collector per tenant

	probes probes
	// readyChecks are readiness checks beyond the built-in ones (started,
	// redis), e.g. that the collector holds its tenants' leases: append
	// one in New and /readyz and the gRPC health follow it.
	readyChecks []telemetry.Check

	// stopping is done when Shutdown starts: work that retries until Redis
	// answers (releasing held interactions) gives up then, and the next
	// start does it from Redis.
	stopping context.Context

	// deadFill is the last measure of each tenant's dead-letter streams
	// against their bounds, for the gauges.
	deadFill sync.Map // tenant → eventstore.DeadLetterFill
}

// newRedisClient connects to the Redis r describes.
func newRedisClient(r config.Redis) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.Addr, Username: r.Username, Password: r.Password.Reveal(), DB: r.DB})
}

// New builds a collector from the configuration; Start connects it. Its
// spans and metrics go to tel, which the caller owns and shuts down after
// the collector.
func New(cfg *config.Config, logger *slog.Logger, tel *telemetry.Telemetry) (*Collector, error) {
	if err := cfg.ValidateCollector(); err != nil {
		return nil, err
	}
	cc := cfg.Collector
	rdb := newRedisClient(cfg.Redis)
	var ownTimelineRDB *redis.Client // the timeline's own Redis, if configured
	timelineRDB := rdb
	if cc.Query.Redis.Addr != "" {
		ownTimelineRDB = newRedisClient(cc.Query.Redis)
		timelineRDB = ownTimelineRDB
	}
	closeRedis := func() {
		_ = rdb.Close()
		if ownTimelineRDB != nil {
			_ = ownTimelineRDB.Close()
		}
	}
	store, err := eventstore.New(rdb, cc.Store)
	if err != nil {
		closeRedis()
		return nil, err
	}
	inst, err := newInstruments(tel)
	if err != nil {
		closeRedis()
		return nil, fmt.Errorf("collector metrics: %w", err)
	}
	c := &Collector{cfg: cfg, logger: logger, rdb: rdb, timelineRDB: ownTimelineRDB, store: store, tel: tel, inst: inst}
	if err := c.setupLeases(tel); err != nil {
		closeRedis()
		return nil, err
	}
	c.timeline, err = timeline.New(timelineRDB, cfg.TimelineConfig())
	if err != nil {
		closeRedis()
		return nil, fmt.Errorf("collector.query: %w", err)
	}
	// Closed by Shutdown; New's later error paths leave it to the GC (it
	// only waits on its empty queue).
	c.recorder = timeline.NewRecorder(c.timeline, timeline.RecorderOptions{Logger: logger.With("component", "timeline")})
	c.sched, err = scheduler.New(cc.Scheduler, store, c.onSettled)
	if err != nil {
		closeRedis()
		return nil, err
	}
	c.sched.OnRetry(c.recorder.Retrying)
	c.pending = newByteBudget(cc.PendingMaxBytes)
	for i, t := range cfg.Tenants {
		sc := cfg.SAPIConfig(i)
		tl := logger.With("tenant", t.Name)
		p := newPipeline(t.Name, t.SAPI.SubscriptionID, cc.AdmitBatch, store, c.sched, c.recorder, &c.stats, inst, tl, c.pending)
		c.pipelines = append(c.pipelines, p)
		c.clients = append(c.clients, sapi.NewClient(sc, p.handleFrame, tl))
	}
	if err := c.observeGauges(tel); err != nil {
		closeRedis()
		return nil, fmt.Errorf("collector metrics: %w", err)
	}
	return c, nil
}

func (c *Collector) onSettled(e eventstore.Entry, r scheduler.Result) {
	c.recorder.Settled(e, r)
	ctx := context.Background()
	c.stats.settled.Add(1)
	c.inst.settled.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcomeLabel(r.Outcome))))
	if r.Outcome == scheduler.FailedPermanent {
		c.stats.deadLetters.Add(1)
		c.inst.deadLetters.Add(ctx, 1, metric.WithAttributes(attribute.String("tenant", e.Ref.Tenant)))
		c.logger.Warn("event dead-lettered", "tenant", e.Ref.Tenant, "interaction_id", e.Event.GetInteractionId(),
			"event_type", e.Event.GetEventType(), "attempts", r.Attempts, "status", r.Status, "reason", r.Reason,
			"holds_interaction", c.policy() == scheduler.PolicyHold)
	}
}

// startQuery serves the QueryService when collector.query.auth
// authenticates anyone.
func (c *Collector) startQuery() error {
	qc := c.cfg.Collector.Query
	if !qc.Auth.Authenticates() {
		c.logger.Info("query service off: set collector.query.auth.tokens to serve it")
		return nil
	}
	tenants := make([]string, len(c.cfg.Tenants))
	for i, t := range c.cfg.Tenants {
		tenants[i] = t.Name
	}
	svc, err := query.NewService(query.Options{Tenants: tenants, Timeline: c.timeline, DeadLetters: c.store,
		Replay: c.replayForQuery, Logger: c.logger.With("component", "query")})
	if err != nil {
		return err
	}
	c.query, err = query.Serve(query.ServerConfig{Listen: qc.Listen, Auth: qc.Auth}, svc,
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(c.tel.TracerProvider()),
			otelgrpc.WithMeterProvider(c.tel.MeterProvider()), otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))))
	if err != nil {
		return fmt.Errorf("collector.query: %w", err)
	}
	c.logger.Info("query service serving", "addr", c.query.Addr())
	return nil
}

// QueryAddr is the QueryService's address, "" when it is off.
func (c *Collector) QueryAddr() string {
	if c.query == nil {
		return ""
	}
	return c.query.Addr()
}

// Addr is the DeliveryService's listening address; "" before Start.
func (c *Collector) Addr() string {
	if c.lis == nil {
		return ""
	}
	return c.lis.Addr().String()
}

// Store exposes the event store (for operations and tests).
func (c *Collector) Store() *eventstore.Store { return c.store }

// Scheduler exposes the scheduler (for metrics and tests).
func (c *Collector) Scheduler() *scheduler.Scheduler { return c.sched }

// Stats returns a snapshot of the counters.
func (c *Collector) Stats() Snapshot {
	s := &c.stats
	return Snapshot{Received: s.received.Load(), Heartbeats: s.heartbeats.Load(), Malformed: s.malformed.Load(),
		Admitted: s.admitted.Load(), Duplicates: s.duplicates.Load(), AdmitErrors: s.admitErrors.Load(),
		Recovered: s.recovered.Load(), Settled: s.settled.Load(), DeadLetters: s.deadLetters.Load()}
}

// Start checks Redis, serves the DeliveryService, re-schedules the events
// left unsettled by an earlier run, then opens each tenant's SAPI stream.
// A collector starts once; after a failed Start, call Shutdown.
func (c *Collector) Start(ctx context.Context) error {
	if !c.probes.state.CompareAndSwap(stateNew, stateStarting) {
		return errors.New("collector: already started or shut down")
	}
	// New validated this too; Start keeps the rule for configurations
	// built in code.
	if err := grpcauth.RequireOffLoopback(c.cfg.Collector.DeliveryAuth, c.cfg.Collector.GRPCListen,
		"collector.grpc_listen", "collector.delivery_auth"); err != nil {
		return err
	}
	authOpts, err := grpcauth.ServerOptions(c.cfg.Collector.DeliveryAuth, grpcauth.WithPublicServices(grpcauth.HealthService))
	if err != nil {
		return fmt.Errorf("collector.delivery_auth: %w", err)
	}
	if err := c.waitRedis(ctx); err != nil {
		return fmt.Errorf("redis %s: %w", c.cfg.Redis.Addr, err)
	}
	c.probes.lastPing.Store(time.Now().UnixNano())
	if err := c.acquireLeases(ctx); err != nil { // before anything of the tenants is touched
		return err
	}
	for _, w := range c.store.CheckServer(ctx) {
		c.logger.Warn(w)
	}
	if err := c.sched.Start(ctx); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.cfg.Collector.GRPCListen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.cfg.Collector.GRPCListen, err)
	}
	c.lis = lis
	if !c.cfg.Collector.DeliveryAuth.Authenticates() {
		c.logger.Warn("the DeliveryService accepts dispatchers without authentication (allowed on loopback only); set collector.delivery_auth.tokens",
			"addr", lis.Addr().String())
	}
	c.grpc = grpc.NewServer(append(authOpts,
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(c.tel.TracerProvider()),
			otelgrpc.WithMeterProvider(c.tel.MeterProvider()),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
		)),
	)...)
	ds := delivery.NewServer(c.sched, c.inst.tracer, c.logger)
	ds.OnSent(func(e eventstore.Entry, dispatcher string, redelivery int) {
		if redelivery == 0 {
			c.inst.observeWait(e.Event, time.Now(), stageSent)
		}
		c.recorder.Dispatched(e, dispatcher, redelivery)
	})
	ds.SetMaxAge(c.cfg.Collector.StreamMaxAge)
	deliveryv1.RegisterDeliveryServiceServer(c.grpc, ds)
	c.health = health.NewServer()
	// Not serving until ready (the health server starts as SERVING).
	c.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	c.health.SetServingStatus(deliveryv1.DeliveryService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(c.grpc, c.health)
	go func() { _ = c.grpc.Serve(lis) }()
	c.logger.Info("collector serving", "addr", lis.Addr().String())
	if err := c.startQuery(); err != nil {
		return err
	}

	recovCtx, cancel := context.WithCancel(context.Background())
	c.stopRecov, c.stopping = cancel, recovCtx
	for i, p := range c.pipelines {
		go p.run()
		c.recovery.Add(1)
		go func(p *pipeline, client *sapi.Client) {
			defer c.recovery.Done()
			c.checkRestartGap(recovCtx, p.tenant)
			if err := c.recover(recovCtx, p.tenant); err != nil {
				c.logger.Error("recovery of unsettled events stopped", "tenant", p.tenant, "err", err)
				return
			}
			close(p.recovered)
			if recovCtx.Err() != nil {
				return
			}
			if err := client.Start(recovCtx); err != nil {
				c.logger.Error("SAPI client did not start", "tenant", p.tenant, "err", err)
			}
		}(p, c.clients[i])
	}
	c.recovery.Add(3)
	go func() { defer c.recovery.Done(); c.watchStreams(recovCtx) }()
	go func() { defer c.recovery.Done(); c.watchDeadLetters(recovCtx) }()
	go func() { defer c.recovery.Done(); c.probeLoop(recovCtx) }()
	if c.probes.state.CompareAndSwap(stateStarting, stateRunning) {
		c.setHealth()
	}
	return nil
}

// waitRedis waits for Redis to answer (it may be starting, or loading its
// AOF after a restart) for up to a minute, so that a collector restarted
// together with Redis does not give up at once.
func (c *Collector) waitRedis(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := c.store.Ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		c.logger.Warn("waiting for Redis", "err", err)
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// recover schedules, in stream order, the events a previous run admitted
// but did not settle. It runs before the tenant's SAPI stream opens, so
// newer events of an interaction cannot overtake them. Interactions held
// behind a dead letter stay held (policy hold) or are let go (policy skip)
// first.
func (c *Collector) recover(ctx context.Context, tenant string) error {
	if err := c.restoreHolds(ctx, tenant); err != nil {
		return err
	}
	for p := range c.store.Partitions() {
		after := ""
		for {
			entries, err := c.store.Unsettled(ctx, tenant, p, after, 512)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				break
			}
			if err := c.sched.Enqueue(ctx, entries); err != nil {
				return err
			}
			c.stats.recovered.Add(int64(len(entries)))
			after = entries[len(entries)-1].Ref.ID
		}
	}
	if n := c.stats.recovered.Load(); n > 0 {
		c.logger.Info("unsettled events from an earlier run scheduled again", "tenant", tenant, "events", n)
	}
	return nil
}

// Shutdown stops reading SAPI, admits what was read, lets dispatchers
// settle what they hold, and stops serving. Whatever is not settled stays
// in Redis for the next start. It returns by the end of ctx whatever state
// the collector is in (not started, partly started by a failed Start,
// running); it is idempotent (later calls return nil at once).
func (c *Collector) Shutdown(ctx context.Context) error {
	var errs []error
	c.stopOnce.Do(func() {
		c.probes.state.Store(stateStopping)
		if c.query != nil {
			errs = append(errs, c.query.Shutdown(ctx))
		}
		if c.health != nil {
			c.health.Shutdown()
		}
		if c.stopRecov != nil {
			c.stopRecov()
		}
		if err := waitCtx(ctx, c.recovery.Wait); err != nil {
			errs = append(errs, fmt.Errorf("recovery and watch loops: %w", err))
		}
		// A client that did not stop by the end of ctx may still be in its
		// handler, which sends on its pipeline's input: that input is
		// closed once the client has stopped (it was told to).
		stopped := make([]bool, len(c.clients))
		for i, cl := range c.clients {
			err := cl.Shutdown(ctx)
			stopped[i] = err == nil
			errs = append(errs, err)
		}
		for i, p := range c.pipelines {
			if stopped[i] {
				close(p.in)
				continue
			}
			go func(cl *sapi.Client, p *pipeline) {
				_ = cl.Shutdown(context.Background())
				close(p.in)
			}(c.clients[i], p)
		}
		// readersDone: every reader stopped and what it read was admitted;
		// only then are the tenants handed over at once (leases released).
		readersDone := !slices.Contains(stopped, false)
		if c.stopRecov != nil { // started: pipelines are running
			for i, p := range c.pipelines {
				if !stopped[i] {
					continue
				}
				select {
				case <-p.done:
				case <-ctx.Done():
					readersDone = false
					errs = append(errs, fmt.Errorf("tenant %s: admitting read events: %w", p.tenant, ctx.Err()))
				}
			}
		}
		drainCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := c.sched.Drain(drainCtx); err != nil && ctx.Err() == nil {
			c.logger.Warn("dispatchers did not settle every delivery before shutdown; they will be delivered again", "err", err)
		}
		cancel()
		errs = append(errs, c.sched.Shutdown(ctx))
		if c.grpc != nil {
			stopped := make(chan struct{})
			go func() { c.grpc.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				c.grpc.Stop()
				<-stopped
			}
		}
		errs = append(errs, c.recorder.Close(ctx)) // after the scheduler: every settlement is recorded
		if readersDone {
			errs = append(errs, c.releaseLeases(ctx)) // last: a collector started now recovers what is left
		} else {
			// A reader may still be reading or admitting: the leases lapse
			// after their TTL instead of going to another collector now.
			c.logger.Warn("SAPI readers did not stop in time; the tenant leases lapse after collector.lease.ttl instead of being released")
			errs = append(errs, c.leases.Abandon())
		}
		errs = append(errs, c.rdb.Close())
		if c.timelineRDB != nil {
			errs = append(errs, c.timelineRDB.Close())
		}
	})
	return errors.Join(errs...)
}

// waitCtx runs wait and returns when it does, or ctx's error when ctx ends
// first (wait then goes on in the background).
func waitCtx(ctx context.Context, wait func()) error {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
