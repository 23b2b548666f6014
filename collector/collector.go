package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/collector/deadletter"
	"github.com/ccbridge/bridge/collector/delivery"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/health"
	"github.com/ccbridge/bridge/collector/intake"
	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/registry"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// instrumentation is where the collector's spans and metrics are made:
// every room reports under this one name (the exported metrics carry it as
// their scope).
const instrumentation = "github.com/ccbridge/bridge/collector"

// Snapshot is a copy of the collector's counters since New.
type Snapshot struct {
	Received, Heartbeats, Malformed, Admitted, Duplicates, AdmitErrors, Recovered, Settled, DeadLetters int64
}

// Collector is one collector process's work. Create with New, then Start;
// Shutdown stops it in order.
type Collector struct {
	cfg     *config.Config
	tenants []string
	logger  *slog.Logger
	tel     *telemetry.Telemetry
	tracer  trace.Tracer
	rdb     redis.UniversalClient
	// timelineRDB is the timeline's own Redis (collector.query.redis);
	// nil when the timeline is kept in rdb.
	timelineRDB redis.UniversalClient

	store       *eventstore.Store
	leases      *lease.Manager // one collector per tenant
	timeline    *timeline.Store
	recorder    *timeline.Recorder
	sched       *scheduler.Scheduler
	intake      *intake.Intake
	deadLetters *deadletter.Keeper
	health      *health.Monitor
	grpc        *grpc.Server
	lis         net.Listener
	query       *query.Server
	// registration is the collector's entry in the collector registry;
	// nil unless dispatchers find collectors there.
	registration *registry.Registration

	// balancer spreads the tenants over the live collectors; nil in
	// static mode (collector.balance.mode).
	balancer *balance.Balancer
	// serveMu orders, per tenant, the balancer's Serve and Unserve with
	// the clean-up of a tenant lost meanwhile (stopServing).
	serveMu map[string]*sync.Mutex

	stopOnce sync.Once
	// lostOnce stops serving each tenant once (stopServing).
	lostOnce map[string]*sync.Once
	// lost is closed when the collector first stops serving a tenant
	// (Lost).
	lost      chan struct{}
	lostOnce1 sync.Once
}

// stopServing stops serving a tenant whose lease this collector no longer
// holds: its SAPI reader stops, and the scheduler hands out none of its
// events and forgets them (they are the new holder's, in Redis). Once per
// tenant; the collector must be restarted to serve it again.
//
// In rendezvous mode (collector.balance.mode) the tenant is closed in the
// background instead, and the balancer takes it back when this collector
// still owns it and its lease is free: the process goes on.
func (c *Collector) stopServing(tenant, why string) {
	if c.balancer != nil {
		c.logger.Error("ALERT: this collector stops serving the tenant: "+why+"; it takes it back when its lease is free and it still owns it", "tenant", tenant)
		// Not here: the caller may be the tenant's admitter, which
		// UnserveTenant waits for.
		go func() {
			mu := c.serveMu[tenant]
			mu.Lock()
			defer mu.Unlock()
			if c.leases.Held(tenant) {
				return // taken back meanwhile
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// No drain: another collector may serve the tenant already.
			if err := c.intake.UnserveTenant(ctx, tenant, 0); err != nil {
				c.logger.Warn("could not close the lost tenant", "tenant", tenant, "err", err)
			}
		}()
		return
	}
	once := c.lostOnce[tenant]
	if once == nil {
		return
	}
	once.Do(func() {
		c.logger.Error("ALERT: this collector stops serving the tenant: "+why, "tenant", tenant)
		c.intake.StopReading(tenant)
		c.sched.DropTenant(tenant)
		c.lostOnce1.Do(func() { close(c.lost) })
	})
}

// Lost is closed once the collector has stopped serving a tenant it was
// configured for, because it lost the tenant's lease or a write was
// fenced. It does not serve the tenant again by itself: its command exits,
// so that its supervisor restarts it, and the new process takes the lease
// back (when no other collector holds it) and recovers the tenant's
// unsettled events from Redis. A rig that runs collectors in-process
// decides for itself. In rendezvous mode (collector.balance.mode) it never
// closes: the balancer takes a lost tenant back itself.
func (c *Collector) Lost() <-chan struct{} { return c.lost }

// Serve takes the tenant's lease when it is free and serves the tenant
// (balance.Tenants): fence raised, dead-letter holds restored, unsettled
// events recovered, SAPI stream opened, as Start does for every tenant in
// static mode. False when another collector holds the lease.
func (c *Collector) Serve(ctx context.Context, tenant string) (bool, error) {
	mu := c.serveMu[tenant]
	if mu == nil {
		return false, fmt.Errorf("unknown tenant %q", tenant)
	}
	mu.Lock()
	defer mu.Unlock()
	if c.intake.Serving(tenant) && !c.leases.Held(tenant) {
		// Lost, and not closed yet: close it before opening it again.
		if err := c.intake.UnserveTenant(ctx, tenant, 0); err != nil {
			return false, err
		}
	}
	ok, _, err := c.leases.TryAcquire(ctx, tenant)
	if err != nil || !ok {
		return false, err
	}
	if err := c.raiseFence(ctx, tenant); err != nil {
		_ = c.leases.ReleaseTenant(ctx, tenant)
		return false, err
	}
	if err := c.intake.ServeTenant(tenant); err != nil {
		_ = c.leases.ReleaseTenant(ctx, tenant)
		return false, err
	}
	return true, nil
}

// handOverDrain is how long a collector handing a tenant over waits for
// the tenant's buffered and in-flight deliveries to settle before it
// releases the lease: what is still in flight then is sent again by the
// next holder.
const handOverDrain = 2 * time.Second

// Unserve stops serving the tenant and releases its lease, so that its
// new owner takes it at once (balance.Tenants). What the scheduler holds
// of the tenant is delivered first, for up to handOverDrain; deliveries
// still in flight then are forgotten, and the next holder sends them
// again.
func (c *Collector) Unserve(ctx context.Context, tenant string) error {
	mu := c.serveMu[tenant]
	if mu == nil {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	mu.Lock()
	defer mu.Unlock()
	if err := c.intake.UnserveTenant(ctx, tenant, handOverDrain); err != nil {
		return err // the lease is kept (and renewed) until it is closed
	}
	return c.leases.ReleaseTenant(ctx, tenant)
}

// Serving reports whether the collector serves the tenant and holds its
// lease (balance.Tenants).
func (c *Collector) Serving(tenant string) bool {
	return c.intake.Serving(tenant) && c.leases.Held(tenant)
}

// ServedTenants are the tenants the collector serves now, in
// configuration order: in static mode every tenant it holds the lease of.
func (c *Collector) ServedTenants() []string {
	if c.balancer != nil {
		return c.balancer.Served()
	}
	var out []string
	for _, t := range c.tenants {
		if c.leases.Held(t) {
			out = append(out, t)
		}
	}
	return out
}

// BalanceID names the collector among the collectors sharing its tenants;
// "" in static mode.
func (c *Collector) BalanceID() string {
	if c.balancer == nil {
		return ""
	}
	return c.balancer.ID()
}

// raiseFence raises the tenant's fence to the token of its lease: a
// collector that held it earlier can write no more.
func (c *Collector) raiseFence(ctx context.Context, tenant string) error {
	token, ok := c.leases.Token(tenant)
	if !ok {
		return fmt.Errorf("tenant %s: lease lost right after it was taken", tenant)
	}
	return c.store.RaiseFence(ctx, tenant, token)
}

// New builds a collector from the configuration; Start connects it. Its
// spans and metrics go to tel, which the caller owns and shuts down after
// the collector.
func New(cfg *config.Config, logger *slog.Logger, tel *telemetry.Telemetry) (*Collector, error) {
	if err := cfg.ValidateCollector(); err != nil {
		return nil, err
	}
	cc := cfg.Collector
	rdb := cfg.Redis.NewClient(config.ClientOptions{})
	var ownTimelineRDB redis.UniversalClient // the timeline's own Redis, if configured
	timelineRDB := rdb
	if cc.Query.Redis.IsSet() {
		ownTimelineRDB = cc.Query.Redis.NewClient(config.ClientOptions{})
		timelineRDB = ownTimelineRDB
	}
	closeRedis := func() {
		_ = rdb.Close()
		if ownTimelineRDB != nil {
			_ = ownTimelineRDB.Close()
		}
	}
	tenants := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		tenants[i] = t.Name
	}
	meter := tel.Meter(instrumentation)
	c := &Collector{cfg: cfg, tenants: tenants, logger: logger, tel: tel, tracer: tel.Tracer(instrumentation),
		rdb: rdb, timelineRDB: ownTimelineRDB, lostOnce: map[string]*sync.Once{}, lost: make(chan struct{}),
		serveMu: map[string]*sync.Mutex{}}
	for _, t := range tenants {
		c.lostOnce[t] = &sync.Once{}
		c.serveMu[t] = &sync.Mutex{}
	}
	// The hooks below call rooms made further down: they run only once
	// the collector is started.
	var err error
	c.store, err = eventstore.New(rdb, cc.Store, eventstore.WithMeter(meter),
		// Every write of a tenant carries its lease's fencing token.
		eventstore.WithFencing(func(tenant string) (uint64, bool) { return c.leases.Token(tenant) }),
		eventstore.WithOnFenced(func(tenant string) {
			c.stopServing(tenant, "a write was refused: another collector holds the tenant's lease")
		}))
	if err != nil {
		closeRedis()
		return nil, err
	}
	store := c.store
	c.leases, err = lease.New(rdb, cfg.LeaseConfig(),
		lease.WithLogger(logger.With("component", "lease")), lease.WithMeter(meter),
		lease.WithOnLost(func(tenant, _ string) { c.stopServing(tenant, "the tenant's lease was lost") }))
	if err != nil {
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
	c.recorder, err = timeline.NewRecorder(c.timeline, timeline.RecorderOptions{Logger: logger.With("component", "timeline"), Meter: meter})
	if err != nil {
		closeRedis()
		return nil, err
	}
	scfg := cc.Scheduler
	c.sched, err = scheduler.New(scfg, store, func(e eventstore.Entry, r scheduler.Result) {
		c.recorder.Settled(e, r)
		c.deadLetters.Settled(e, r)
	}, scheduler.WithOnRetry(c.recorder.Retrying), scheduler.WithMetrics(meter, tenants))
	if err != nil {
		closeRedis()
		return nil, err
	}
	rendezvous := cfg.BalanceConfig().Rendezvous()
	icfg := intake.Config{AdmitBatch: cc.AdmitBatch, PendingMaxBytes: cc.PendingMaxBytes, KeyPrefix: cc.Store.KeyPrefix,
		OnDemand: rendezvous} // the balancer opens the tenants it owns
	for i, t := range cfg.Tenants {
		icfg.Tenants = append(icfg.Tenants, intake.Tenant{Name: t.Name, SubscriptionID: t.SAPI.SubscriptionID, SAPI: cfg.SAPIConfig(i)})
	}
	c.intake, err = intake.New(icfg, rdb, store, c.sched, intake.WithLogger(logger), intake.WithMeter(meter),
		intake.WithTracer(c.tracer), intake.WithRecorder(c.recorder),
		intake.WithBeforeRecover(func(ctx context.Context, tenant string) error { return c.deadLetters.RestoreHolds(ctx, tenant) }))
	if err != nil {
		closeRedis()
		return nil, err
	}
	c.deadLetters, err = deadletter.New(deadletter.Config{Tenants: tenants, Policy: scfg.DeadLetterPolicy,
		CheckInterval: cc.Store.DeadLetterCheckInterval}, store, c.sched, c.intake,
		deadletter.WithLogger(logger), deadletter.WithMeter(meter), deadletter.WithRecorder(c.recorder))
	if err != nil {
		closeRedis()
		return nil, err
	}
	if rendezvous {
		c.balancer, err = balance.New(rdb, cfg.BalanceConfig(), tenants, c, meter,
			balance.WithLogger(logger.With("component", "balance")))
		if err != nil {
			closeRedis()
			return nil, err
		}
	}
	c.health = health.New(store.Ping, health.WithLogger(logger),
		health.WithServices(deliveryv1.DeliveryService_ServiceDesc.ServiceName),
		health.WithStreams(c.intake.Streaming),
		// A collector that lost a tenant's lease, or has not taken it yet,
		// serves no events of that tenant. In rendezvous mode only the
		// tenants it serves count: the others are other collectors'.
		health.WithChecks(telemetry.Check{Name: "leases", Check: func() error {
			if c.balancer != nil {
				return c.leases.CheckHeld(c.intake.ServingTenants())
			}
			return c.leases.CheckHeld(tenants)
		}}))
	return c, nil
}

// startQuery serves the QueryService when collector.query.auth
// authenticates anyone.
func (c *Collector) startQuery() error {
	qc := c.cfg.Collector.Query
	if !qc.Auth.Authenticates() {
		c.logger.Info("query service off: set collector.query.auth.tokens to serve it")
		return nil
	}
	replay := func(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) ([]eventstore.DeadEntry, int, error) {
		res, err := c.deadLetters.Replay(ctx, tenant, f, dryRun)
		return res.Matched, res.Replayed, err
	}
	svc, err := query.NewService(query.Options{Tenants: c.tenants, Timeline: c.timeline, DeadLetters: c.store,
		Replay: replay, Logger: c.logger.With("component", "query")})
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

// Start checks Redis, takes the tenants' leases, serves the
// DeliveryService (registering it for dispatchers that find collectors in
// Redis), then starts the rooms: intake re-schedules the events
// left unsettled by an earlier run and opens each tenant's SAPI stream,
// the dead-letter keeper watches its bounds, and the probes run. A
// collector starts once; after a failed Start, call Shutdown.
func (c *Collector) Start(ctx context.Context) error {
	if !c.health.Starting() {
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
	if err := c.health.WaitRedis(ctx); err != nil {
		return fmt.Errorf("redis %s: %w", c.cfg.Redis.Where(), err)
	}
	// In rendezvous mode the balancer takes the tenants' leases, once
	// the rooms run (see below).
	if c.balancer == nil {
		if err := c.leases.AcquireAll(ctx, c.tenants); err != nil { // before anything of the tenants is touched
			return err
		}
		// Before anything of the tenants is read or written: a collector
		// that held them earlier can write no more.
		for _, t := range c.tenants {
			if err := c.raiseFence(ctx, t); err != nil {
				return err
			}
		}
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
	ds := delivery.NewServer(c.sched, c.tracer, c.logger,
		delivery.WithOnSent(func(e eventstore.Entry, dispatcher string, redelivery int) {
			if redelivery == 0 {
				c.intake.ObserveSent(e.Event)
			}
			c.recorder.Dispatched(e, dispatcher, redelivery)
		}),
		delivery.WithMaxAge(c.cfg.Collector.StreamMaxAge))
	deliveryv1.RegisterDeliveryServiceServer(c.grpc, ds)
	c.health.Register(c.grpc)
	go func() { _ = c.grpc.Serve(lis) }()
	c.logger.Info("collector serving", "addr", lis.Addr().String())
	if err := c.register(ctx); err != nil {
		return err
	}
	if err := c.startQuery(); err != nil {
		return err
	}
	if err := c.intake.Start(ctx); err != nil {
		return err
	}
	if err := c.deadLetters.Start(ctx); err != nil {
		return err
	}
	if c.balancer != nil {
		if err := c.balancer.Start(ctx); err != nil {
			return err
		}
	}
	return c.health.Start(ctx)
}

// Shutdown stops reading SAPI, admits what was read, lets dispatchers
// settle what they hold, and stops serving. Whatever is not settled stays
// in Redis for the next start. It returns by the end of ctx whatever state
// the collector is in (not started, partly started by a failed Start,
// running); it is idempotent (later calls return nil at once).
func (c *Collector) Shutdown(ctx context.Context) error {
	var errs []error
	c.stopOnce.Do(func() {
		errs = append(errs, c.health.Shutdown(ctx)) // not ready from here on
		if c.balancer != nil {
			// First: the others own this collector's tenants at once, and
			// take each as soon as its lease is released here.
			errs = append(errs, c.balancer.Shutdown(ctx))
		}
		if c.query != nil {
			errs = append(errs, c.query.Shutdown(ctx))
		}
		// Before intake: a release it runs in a tenant's admitter gives up.
		errs = append(errs, c.deadLetters.Shutdown(ctx))
		// Every reader stopped and what it read scheduled, or ctx ended.
		errs = append(errs, c.intake.Shutdown(ctx))
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
		if c.registration != nil {
			// Once nothing is served: dispatchers then leave the collector.
			errs = append(errs, c.registration.Shutdown(ctx))
		}
		errs = append(errs, c.recorder.Close(ctx)) // after the scheduler: every settlement is recorded
		if c.intake.ReadersStopped() {
			// Last: a collector started now recovers what is left. Even
			// when ctx has ended, try for a moment rather than leave the
			// leases to expire.
			relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			errs = append(errs, c.leases.Release(relCtx))
			cancel()
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

// Leases are the collector's tenant leases (readiness checks them; tests
// and operations read them here).
func (c *Collector) Leases() *lease.Manager { return c.leases }

// Readiness returns the collector's readiness checks, for /readyz (see
// collector/health).
func (c *Collector) Readiness() []telemetry.Check { return c.health.Readiness() }

// Liveness returns the collector's liveness checks, for /healthz.
func (c *Collector) Liveness() []telemetry.Check { return c.health.Liveness() }

// ReplayDeadLetters sends the tenant's dead letters that match f to
// delivery again; a dry run only says what would be sent (see
// deadletter.Keeper.Replay).
func (c *Collector) ReplayDeadLetters(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) (deadletter.ReplayResult, error) {
	return c.deadLetters.Replay(ctx, tenant, f, dryRun)
}

// Stats returns a snapshot of the counters.
func (c *Collector) Stats() Snapshot {
	in := c.intake.Stats()
	return Snapshot{Received: in.Received, Heartbeats: in.Heartbeats, Malformed: in.Malformed,
		Admitted: in.Admitted, Duplicates: in.Duplicates, AdmitErrors: in.AdmitErrors,
		Recovered: in.Recovered, Settled: c.sched.Stats().Settled, DeadLetters: c.deadLetters.Count()}
}
