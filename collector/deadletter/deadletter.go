package deadletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
)

// Admitter runs work in a tenant's admitter (collector/intake), so that
// what the work schedules reaches the scheduler in stream order with the
// tenant's admissions.
type Admitter interface {
	// Do runs op in the tenant's admitter, between batches, and waits for
	// it; it fails when the admitter has stopped or ctx ends first.
	Do(ctx context.Context, tenant string, op func()) error
	// Recovered is closed once the events an earlier run left unsettled
	// for the tenant are scheduled again.
	Recovered(tenant string) <-chan struct{}
}

// Config is what the keeper of the dead letters needs.
type Config struct {
	// Tenants are the tenants whose dead letters are kept.
	Tenants []string
	// Policy is the scheduler's dead_letter_policy: scheduler.PolicyHold
	// or scheduler.PolicySkip.
	Policy string
	// CheckInterval is how often the bounds are applied
	// (collector.store.dead_letter_check_interval); 0 or less: a minute.
	CheckInterval time.Duration
}

// Option configures a Keeper at New.
type Option func(*Keeper)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(k *Keeper) { k.logger = l } }

// WithMeter reports the dead letters' metrics on m (default: none).
func WithMeter(m metric.Meter) Option { return func(k *Keeper) { k.meter = m } }

// WithRecorder records each replay on the timeline.
func WithRecorder(r *timeline.Recorder) Option { return func(k *Keeper) { k.rec = r } }

// Keeper keeps the dead letters of every tenant: the interactions held
// behind them, their bounds, and their replay. Create with New, then
// Start; Shutdown stops it.
type Keeper struct {
	cfg    Config
	store  *eventstore.Store
	sched  *scheduler.Scheduler
	adm    Admitter
	rec    *timeline.Recorder
	logger *slog.Logger
	meter  metric.Meter

	deadLetters metric.Int64Counter
	// deadTrimmed counts dead letters dropped for good at their bounds.
	deadTrimmed metric.Int64Counter
	// dead is the events dead-lettered since New.
	dead atomic.Int64

	// deadFill is the last measure of each tenant's dead-letter streams
	// against their bounds, for the gauges.
	deadFill sync.Map // tenant → eventstore.DeadLetterFill

	// stopping is done when Shutdown starts: work that retries until Redis
	// answers (releasing held interactions) gives up then, and the next
	// start does it from Redis.
	stopping context.Context
	stop     context.CancelFunc
	mu       sync.Mutex
	started  bool
	shut     bool
	loop     sync.WaitGroup
}

// New returns a keeper of the tenants' dead letters in store, whose holds
// live in sched; adm runs its releases and replays in the tenants'
// admitters.
func New(cfg Config, store *eventstore.Store, sched *scheduler.Scheduler, adm Admitter, opts ...Option) (*Keeper, error) {
	k := &Keeper{cfg: cfg, store: store, sched: sched, adm: adm, logger: slog.New(slog.DiscardHandler),
		meter: metricnoop.NewMeterProvider().Meter("")}
	for _, opt := range opts {
		opt(k)
	}
	if k.cfg.CheckInterval <= 0 {
		k.cfg.CheckInterval = time.Minute
	}
	k.stopping, k.stop = context.WithCancel(context.Background())
	if err := k.instrument(k.meter); err != nil {
		k.stop()
		return nil, fmt.Errorf("dead-letter metrics: %w", err)
	}
	return k, nil
}

// Start applies the bounds of every tenant's dead letters now and every
// CheckInterval, until Shutdown (see watch).
func (k *Keeper) Start(context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.shut:
		return errors.New("deadletter: shut down")
	case k.started:
		return errors.New("deadletter: already started")
	}
	k.started = true
	k.loop.Add(1)
	go func() { defer k.loop.Done(); k.watch(k.stopping) }()
	return nil
}

// Shutdown stops the bounds watch and any release retrying Redis, and
// waits for them until ctx ends. Idempotent and safe before Start.
func (k *Keeper) Shutdown(ctx context.Context) error {
	k.mu.Lock()
	k.shut = true
	k.mu.Unlock()
	k.stop()
	done := make(chan struct{})
	go func() { k.loop.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dead-letter watch: %w", ctx.Err())
	}
}

// Settled is told of every durable settlement (the scheduler's onDone):
// it counts and logs the dead-lettered ones.
func (k *Keeper) Settled(e eventstore.Entry, r scheduler.Result) {
	if r.Outcome != scheduler.FailedPermanent {
		return
	}
	k.dead.Add(1)
	k.deadLetters.Add(context.Background(), 1, metric.WithAttributes(attribute.String("tenant", e.Ref.Tenant)))
	k.logger.Warn("event dead-lettered", "tenant", e.Ref.Tenant, "interaction_id", e.Event.GetInteractionId(),
		"event_type", e.Event.GetEventType(), "attempts", r.Attempts, "status", r.Status, "reason", r.Reason,
		"holds_interaction", k.cfg.Policy == scheduler.PolicyHold)
}

// Count is the events dead-lettered since New.
func (k *Keeper) Count() int64 { return k.dead.Load() }

// instrument makes the dead letters' counters and registers their gauges,
// read at scrape time.
func (k *Keeper) instrument(m metric.Meter) error {
	var err1, err2 error
	k.deadLetters, err1 = m.Int64Counter("ccb.collector.dead_letters", metric.WithDescription("Events dead-lettered."), metric.WithUnit("{event}"))
	k.deadTrimmed, err2 = m.Int64Counter("ccb.collector.dead_letters.trimmed", metric.WithDescription("Dead letters dropped for good at collector.store.dead_letter_max_age (bound=age) or dead_letter_max_len (bound=length); a dropped letter that held its interaction releases it."), metric.WithUnit("{event}"))
	deadBound, err3 := m.Float64ObservableGauge("ccb.collector.dead_letters.bound_ratio",
		metric.WithDescription("How full the tenant's fullest dead-letter stream is (bound=length: entries over dead_letter_max_len) and how old its oldest dead letter is (bound=age: age over dead_letter_max_age). At 1 dead letters are dropped for good."))
	held, err4 := m.Int64ObservableGauge("ccb.collector.held_interactions",
		metric.WithDescription("Interactions whose later events wait behind a dead-lettered event (dead_letter_policy hold) until it is replayed."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := k.sched.Stats()
		for _, t := range k.cfg.Tenants {
			tenant := attribute.String("tenant", t)
			o.ObserveInt64(held, int64(st.Held[t]), metric.WithAttributes(tenant))
			if v, ok := k.deadFill.Load(t); ok {
				f := v.(eventstore.DeadLetterFill)
				o.ObserveFloat64(deadBound, f.LengthRatio, metric.WithAttributes(tenant, attribute.String("bound", "length")))
				o.ObserveFloat64(deadBound, f.AgeRatio, metric.WithAttributes(tenant, attribute.String("bound", "age")))
			}
		}
		return nil
	}, deadBound, held)
	return err
}
