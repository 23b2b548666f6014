package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Tenant is one tenant's source of events.
type Tenant struct {
	Name string
	// SubscriptionID is the SAPI subscription the tenant's events are
	// read from; each event carries it.
	SubscriptionID string
	// SAPI configures the tenant's stream.
	SAPI sapi.Config
}

// Config is what the intake of every tenant needs.
type Config struct {
	Tenants []Tenant
	// AdmitBatch is the most events admitted to Redis in one round trip.
	AdmitBatch int
	// PendingMaxBytes bounds the bytes of the events read and not yet
	// handed to the scheduler, all tenants together; at the bound the
	// readers wait.
	PendingMaxBytes int64
	// KeyPrefix starts the keys intake writes besides the event store's
	// (each tenant's last-frame time): the event store's prefix.
	KeyPrefix string
	// OnDemand opens no tenant at Start: ServeTenant opens one (when this
	// collector took its lease) and UnserveTenant closes it again.
	OnDemand bool
}

// Option configures an Intake at New.
type Option func(*Intake)

// WithLogger sets the logger (default: discard). Each tenant's reader
// logs with a "tenant" attribute added.
func WithLogger(l *slog.Logger) Option { return func(in *Intake) { in.logger = l } }

// WithMeter reports intake's metrics on m (default: none).
func WithMeter(m metric.Meter) Option { return func(in *Intake) { in.meter = m } }

// WithTracer makes the events' receive spans with t (default: none).
func WithTracer(t trace.Tracer) Option { return func(in *Intake) { in.tracer = t } }

// WithRecorder records each admission on the timeline.
func WithRecorder(r *timeline.Recorder) Option { return func(in *Intake) { in.rec = r } }

// WithBeforeRecover runs f for each tenant at Start, before the events an
// earlier run left unsettled are scheduled again (the dead-letter holds
// are restored there). An error stops the tenant's recovery: its stream
// is not opened.
func WithBeforeRecover(f func(ctx context.Context, tenant string) error) Option {
	return func(in *Intake) { in.beforeRecover = f }
}

// Intake reads every tenant's events and admits them: one pipeline per
// tenant, from its SAPI stream to the scheduler. Create with New, then
// Start; Shutdown stops the readers and admits what they read.
type Intake struct {
	cfg           Config
	rdb           redis.UniversalClient
	store         *eventstore.Store
	sched         *scheduler.Scheduler
	rec           *timeline.Recorder
	logger        *slog.Logger
	meter         metric.Meter
	tracer        trace.Tracer
	beforeRecover func(ctx context.Context, tenant string) error
	inst          *instruments
	stats         counters

	// pending bounds the bytes of events between the SAPI readers and
	// the scheduler, all tenants together.
	pending   *byteBudget
	pipelines []*pipeline
	clients   []*sapi.Client

	mu       sync.Mutex
	started  bool
	shut     bool // Shutdown has begun: Start must not run
	stopOnce sync.Once
	// stop ends recovery and the gap watch; loops waits for them.
	stop  context.CancelFunc
	loops sync.WaitGroup
	// readersStopped is set by Shutdown when every reader stopped and
	// what it read was admitted.
	readersStopped atomic.Bool

	// runCtx is Start's context for the tenants' recovery (ended by stop).
	runCtx context.Context
	// serving are the tenants opened by ServeTenant, by name.
	serving map[string]*tenantRun
	// unserving counts the UnserveTenant calls under way: Shutdown closes
	// the pipelines' inputs only after them.
	unserving sync.WaitGroup
}

// tenantRun is one tenant opened by ServeTenant: its recovery, then its
// reader.
type tenantRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when recovery ended and the reader started (or not)
}

// counters count what intake saw since New.
type counters struct {
	received    atomic.Int64 // decoded events (heartbeats and malformed frames excluded)
	heartbeats  atomic.Int64
	malformed   atomic.Int64
	admitted    atomic.Int64 // new events stored for delivery
	duplicates  atomic.Int64
	admitErrors atomic.Int64
	recovered   atomic.Int64 // unsettled events found in Redis at start
	restartGaps atomic.Int64 // restarts after a SAPI outage longer than the replay cache
}

// Snapshot is a copy of intake's counters.
type Snapshot struct {
	Received, Heartbeats, Malformed, Admitted, Duplicates, AdmitErrors, Recovered int64
}

// New builds the pipeline and the SAPI client of every tenant; Start
// opens the streams. rdb keeps each tenant's last-frame time; store
// admits; sched takes what was admitted.
func New(cfg Config, rdb redis.UniversalClient, store *eventstore.Store, sched *scheduler.Scheduler, opts ...Option) (*Intake, error) {
	in := &Intake{cfg: cfg, rdb: rdb, store: store, sched: sched, logger: slog.New(slog.DiscardHandler),
		meter: metricnoop.NewMeterProvider().Meter(""), tracer: tracenoop.NewTracerProvider().Tracer("")}
	for _, opt := range opts {
		opt(in)
	}
	if cfg.AdmitBatch < 1 {
		return nil, fmt.Errorf("intake: admit batch must be at least 1, got %d", cfg.AdmitBatch)
	}
	inst, err := newInstruments(in.meter, in.tracer)
	if err != nil {
		return nil, fmt.Errorf("intake metrics: %w", err)
	}
	in.inst = inst
	in.pending = newByteBudget(cfg.PendingMaxBytes)
	for _, t := range cfg.Tenants {
		tl := in.logger.With("tenant", t.Name)
		p := newPipeline(t.Name, t.SubscriptionID, cfg.AdmitBatch, store, sched, in.rec, &in.stats, inst, tl, in.pending)
		in.pipelines = append(in.pipelines, p)
		in.clients = append(in.clients, sapi.NewClient(t.SAPI, p.handleFrame, tl))
	}
	if err := in.observe(in.meter); err != nil {
		return nil, fmt.Errorf("intake metrics: %w", err)
	}
	return in, nil
}

// Start runs each tenant's admitter, then, per tenant: checks how long
// its stream was read by nobody, schedules the events an earlier run left
// unsettled, and only then opens its stream, so newer events cannot
// overtake them. It returns at once; the rest goes on until Shutdown.
func (in *Intake) Start(context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.shut:
		return errors.New("intake: shut down")
	case in.started:
		return errors.New("intake: already started")
	}
	in.started = true
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	in.runCtx = ctx
	for i, p := range in.pipelines {
		go p.run()
		if in.cfg.OnDemand {
			continue
		}
		in.loops.Add(1)
		go func(p *pipeline, recovered chan struct{}, client *sapi.Client) {
			defer in.loops.Done()
			in.open(ctx, p, recovered, client)
		}(p, p.recovered, in.clients[i])
	}
	in.loops.Add(1)
	go func() { defer in.loops.Done(); in.saveLastFrames(ctx) }()
	return nil
}

// open checks how long the tenant's stream was read by nobody, schedules
// the events an earlier run (or collector) left unsettled, closes
// recovered, and only then opens its stream.
func (in *Intake) open(ctx context.Context, p *pipeline, recovered chan struct{}, client *sapi.Client) {
	in.checkRestartGap(ctx, p.tenant)
	if err := in.recover(ctx, p.tenant); err != nil {
		in.logger.Error("recovery of unsettled events stopped", "tenant", p.tenant, "err", err)
		return
	}
	close(recovered)
	if ctx.Err() != nil {
		return
	}
	if err := client.Start(ctx); err != nil {
		in.logger.Error("SAPI client did not start", "tenant", p.tenant, "err", err)
	}
}

// ServeTenant opens one tenant of an on-demand intake (Config.OnDemand),
// once this collector holds its lease and raised its fence: the scheduler
// accepts the tenant again, and, in the background as at Start, its
// dead-letter holds are restored, its unsettled events scheduled in
// stream order, and then its SAPI stream opened with a new reader. A
// tenant served already is left as it is.
func (in *Intake) ServeTenant(tenant string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.shut:
		return errors.New("intake: shut down")
	case !in.started:
		return errors.New("intake: not started")
	}
	i := in.indexOf(tenant)
	if i < 0 {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	if in.serving == nil {
		in.serving = map[string]*tenantRun{}
	}
	if in.serving[tenant] != nil {
		return nil
	}
	p := in.pipelines[i]
	select {
	case <-p.recovered: // recovered when served before: replays wait for this recovery
		p.recovered = make(chan struct{})
	default:
	}
	in.sched.AdoptTenant(tenant)
	t := in.cfg.Tenants[i]
	client := sapi.NewClient(t.SAPI, p.handleFrame, in.logger.With("tenant", t.Name))
	in.clients[i] = client
	ctx, cancel := context.WithCancel(in.runCtx)
	run := &tenantRun{cancel: cancel, done: make(chan struct{})}
	in.serving[tenant] = run
	in.loops.Add(1)
	go func(recovered chan struct{}) {
		defer in.loops.Done()
		defer close(run.done)
		in.open(ctx, p, recovered, client)
	}(p.recovered)
	return nil
}

// UnserveTenant closes one tenant ServeTenant opened, for a tenant this
// collector hands over: it ends its recovery, stops its reader, waits
// until what the reader read is admitted and enqueued, then for up to
// drain until the scheduler has delivered and settled everything of the
// tenant (so that no delivery in flight is sent again by the next
// holder), and drops the tenant from the scheduler (acknowledgements of
// its deliveries still in flight are ignored; the next holder recovers
// them from Redis). The caller then releases the lease. It fails when ctx
// ends first: a reader may then still read, and the lease must lapse
// rather than be released.
func (in *Intake) UnserveTenant(ctx context.Context, tenant string, drain time.Duration) error {
	in.mu.Lock()
	if in.shut {
		in.mu.Unlock()
		return errors.New("intake: shut down")
	}
	run := in.serving[tenant]
	delete(in.serving, tenant)
	i := in.indexOf(tenant)
	var client *sapi.Client
	if i >= 0 {
		client = in.clients[i]
	}
	in.unserving.Add(1)
	in.mu.Unlock()
	defer in.unserving.Done()
	if run == nil {
		in.sched.DropTenant(tenant)
		return nil
	}
	run.cancel()
	select {
	case <-run.done:
	case <-ctx.Done():
		return fmt.Errorf("tenant %s: recovery did not end: %w", tenant, ctx.Err())
	}
	if err := client.Shutdown(ctx); err != nil {
		return fmt.Errorf("tenant %s: %w", tenant, err)
	}
	if err := in.pipelines[i].flush(ctx); err != nil {
		return fmt.Errorf("tenant %s: admitting read events: %w", tenant, err)
	}
	in.waitTenantIdle(ctx, tenant, drain)
	in.sched.DropTenant(tenant)
	return nil
}

// waitTenantIdle waits until the scheduler holds nothing of the tenant,
// for up to drain or until ctx ends.
func (in *Intake) waitTenantIdle(ctx context.Context, tenant string, drain time.Duration) {
	if drain <= 0 {
		return
	}
	deadline := time.NewTimer(drain)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !in.sched.TenantIdle(tenant) {
		select {
		case <-deadline.C:
			in.logger.Info("tenant handed over with deliveries in flight: its next holder sends them again", "tenant", tenant, "drain", drain)
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Serving reports whether ServeTenant opened the tenant and UnserveTenant
// has not closed it.
func (in *Intake) Serving(tenant string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.serving[tenant] != nil
}

// currentClients is each tenant's reader now (ServeTenant replaces a
// tenant's reader each time it opens it: its counters start again).
func (in *Intake) currentClients() []*sapi.Client {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.clients)
}

// ServingTenants are the tenants ServeTenant opened and UnserveTenant has
// not closed, in configuration order.
func (in *Intake) ServingTenants() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for _, p := range in.pipelines {
		if in.serving[p.tenant] != nil {
			out = append(out, p.tenant)
		}
	}
	return out
}

func (in *Intake) indexOf(tenant string) int {
	for i, p := range in.pipelines {
		if p.tenant == tenant {
			return i
		}
	}
	return -1
}

// Shutdown stops reading and admits what was read: it ends recovery,
// stops every tenant's stream, and waits until each admitter has admitted
// and scheduled what its reader read, or ctx ends. What is not scheduled
// by then is in Redis (admitted) or still on 8x8's side (not read). It is
// idempotent; later calls return nil at once.
func (in *Intake) Shutdown(ctx context.Context) error {
	var errs []error
	in.stopOnce.Do(func() {
		in.mu.Lock()
		in.shut = true
		stop := in.stop // nil when not started
		in.mu.Unlock()
		if stop != nil {
			stop()
		}
		if err := waitCtx(ctx, in.loops.Wait); err != nil {
			errs = append(errs, fmt.Errorf("recovery and watch loops: %w", err))
		}
		if err := waitCtx(ctx, in.unserving.Wait); err != nil {
			errs = append(errs, fmt.Errorf("tenants being closed: %w", err))
		}
		clients := in.currentClients()
		// A client that did not stop by the end of ctx may still be in its
		// handler, which sends on its pipeline's input: that input is
		// closed once the client has stopped (it was told to).
		stopped := make([]bool, len(clients))
		for i, cl := range clients {
			err := cl.Shutdown(ctx)
			stopped[i] = err == nil
			errs = append(errs, err)
		}
		for i, p := range in.pipelines {
			if stopped[i] {
				close(p.in)
				continue
			}
			go func(cl *sapi.Client, p *pipeline) {
				_ = cl.Shutdown(context.Background())
				close(p.in)
			}(clients[i], p)
		}
		readersDone := !slices.Contains(stopped, false)
		if stop != nil { // started: pipelines are running
			for i, p := range in.pipelines {
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
		in.readersStopped.Store(readersDone)
	})
	return errors.Join(errs...)
}

// ReadersStopped reports whether Shutdown saw every tenant's reader stop
// and what it read admitted. Until then a reader may still read and
// admit, so the tenants must not be handed to another collector.
func (in *Intake) ReadersStopped() bool { return in.readersStopped.Load() }

// StopReading stops reading the tenant's stream, in the background (its
// handler may be waiting for the admitter); what was read is still
// admitted. For a tenant another collector took over.
func (in *Intake) StopReading(tenant string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, p := range in.pipelines {
		if p.tenant == tenant {
			client := in.clients[i]
			go func() { _ = client.Shutdown(context.Background()) }()
		}
	}
}

// Do runs op in the tenant's admitter, between two batches, and waits for
// it: what op schedules reaches the scheduler in stream order with the
// admissions. It fails when the admitter has stopped or ctx ends first.
func (in *Intake) Do(ctx context.Context, tenant string, op func()) error {
	p := in.pipelineOf(tenant)
	if p == nil {
		return fmt.Errorf("unknown tenant %q", tenant)
	}
	return p.do(ctx, op)
}

// Recovered is closed once the events an earlier run left unsettled for
// the tenant are scheduled again; nil for a tenant intake does not read.
// What is scheduled from outside intake (replays, releases) waits for it,
// so it cannot overtake recovered events.
func (in *Intake) Recovered(tenant string) <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if p := in.pipelineOf(tenant); p != nil {
		return p.recovered
	}
	return nil
}

// Streaming reports, per tenant, whether its SAPI stream is streaming.
func (in *Intake) Streaming() map[string]bool {
	clients := in.currentClients()
	m := make(map[string]bool, len(clients))
	for i, cl := range clients {
		m[in.pipelines[i].tenant] = cl.Stats().State == sapi.StateStreaming
	}
	return m
}

// Stats returns a snapshot of the counters.
func (in *Intake) Stats() Snapshot {
	s := &in.stats
	return Snapshot{Received: s.received.Load(), Heartbeats: s.heartbeats.Load(), Malformed: s.malformed.Load(),
		Admitted: s.admitted.Load(), Duplicates: s.duplicates.Load(), AdmitErrors: s.admitErrors.Load(),
		Recovered: s.recovered.Load()}
}

// ObserveSent records how long ev had been in the collector when it was
// first handed to a dispatcher (ccb.collector.event_wait, stage sent),
// beside the admitted stage intake records itself.
func (in *Intake) ObserveSent(ev *eventv1.Event) {
	in.inst.observeWait(ev, time.Now(), stageSent)
}

func (in *Intake) pipelineOf(tenant string) *pipeline {
	for _, p := range in.pipelines {
		if p.tenant == tenant {
			return p
		}
	}
	return nil
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
