package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/memo"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// phoneHashCapacity bounds the phone hashes a dispatcher remembers: several
// times the calls in progress at a busy contact center.
const phoneHashCapacity = 8192

// Dispatcher is one dispatcher process's work. Create with New, then Start;
// Shutdown drains it.
type Dispatcher struct {
	cfg        config.Dispatcher
	logger     *slog.Logger
	translator *translate.Translator
	regal      map[string]*regal.Client // tenant → its Regal account's client
	keys       map[string]secret.Secret // tenant → Regal key
	// rdb holds the shared rate limit and the collector registry; nil
	// when neither is used.
	rdb redis.UniversalClient
	// keyPrefix starts the Redis keys shared with the collectors.
	keyPrefix string
	tel       *telemetry.Telemetry
	phoneSalt string
	// phoneHashes caches phoneHash's results, bounded in memory.
	phoneHashes *memo.Cache[string, string]
	inst        *instruments
	// gate pauses the tenants whose Regal account refuses us.
	gate *tenantGate

	// limiters are each tenant's shared Regal rate limit; empty when off.
	limiters map[string]ratelimit.Adaptive

	mu    sync.Mutex
	stats Stats
	// started is set by Start and Shutdown: each dispatcher starts once.
	started atomic.Bool
	// subscribed is set once Start has begun subscribing.
	subscribed atomic.Bool

	// dialOpts authenticate to every collector; set by Start.
	dialOpts []grpc.DialOption
	// slots bound the deliveries handled at once, all collectors
	// together, to max_in_flight.
	slots chan struct{}
	// linksMu guards links and linksClosed.
	linksMu sync.Mutex
	// links are the subscriptions, by collector address.
	links map[string]*link
	// linksClosed is set by Shutdown: no subscription opens after it.
	linksClosed bool
	// leaving counts subscriptions being ended in the background.
	leaving sync.WaitGroup
	// stopCtx ends when Shutdown begins; it stops discovery.
	stopCtx context.Context
	stopF   context.CancelFunc
	// discoverDone is closed when discovery has stopped (at once with
	// static discovery).
	discoverDone chan struct{}
}

// Stats counts outcomes since start.
type Stats struct {
	Delivered       int
	Skipped         map[string]int // by reason
	FailedRetryable int
	FailedPermanent int
	// Paused counts deliveries answered "tenant paused".
	Paused int
}

// DefaultID names a dispatcher whose configuration names none: host-pid.
func DefaultID() string {
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid())
}

// New builds a dispatcher from the configuration; it does not connect yet.
// Its spans and metrics go to tel, which the caller owns and shuts down
// after the dispatcher.
func New(cfg *config.Config, logger *slog.Logger, tel *telemetry.Telemetry) (*Dispatcher, error) {
	if err := cfg.ValidateDispatcher(); err != nil {
		return nil, err
	}
	dc := cfg.Dispatcher
	tr, err := translate.New(dc.Mapping, translate.WithMeterProvider(tel.MeterProvider()))
	if err != nil {
		return nil, fmt.Errorf("dispatcher.mapping: %w", err)
	}
	rc := dc.Regal.Config // validated by cfg.ValidateDispatcher above
	keys := map[string]secret.Secret{}
	for _, t := range cfg.Tenants {
		keys[t.Name] = t.Regal.APIKey
	}
	var rdb redis.UniversalClient
	if dc.Regal.RateLimit > 0 || dc.Discovery == config.DiscoveryRedis {
		// ContextTimeoutEnabled: the limiter bounds each Redis call by a
		// context deadline (WithRedisTimeout), which go-redis ignores on
		// the socket otherwise; a 429's throttle call would then hold its
		// Regal send for up to the read timeout against a stalled Redis.
		rdb = cfg.Redis.NewClient(config.ClientOptions{ContextTimeoutEnabled: true})
	}
	if dc.ID == "" {
		dc.ID = DefaultID()
	}
	rc.UserAgent = "ccbridge-dispatcher/" + dc.ID
	rc.TracerProvider, rc.MeterProvider = tel.TracerProvider(), tel.MeterProvider()
	// One client per tenant: each Regal account has its own rate limit,
	// shared by all dispatchers through Redis.
	clients := map[string]*regal.Client{}
	limiters := map[string]ratelimit.Adaptive{}
	for _, t := range cfg.Tenants {
		tc := rc
		if dc.Regal.RateLimit > 0 {
			// Adaptive: Regal's 429s lower the shared rate (see ratelimit.Adaptive).
			limiters[t.Name] = ratelimit.NewRedis(rdb, ratelimit.Key(cfg.Collector.Store.KeyPrefix, t.Name),
				dc.Regal.RateLimit, dc.Regal.RateBurst,
				ratelimit.WithProcesses(dc.Regal.RateLimitDispatchers), ratelimit.WithLogger(logger))
			tc.Limiter = limiters[t.Name]
		}
		clients[t.Name] = regal.NewClient(tc, nil)
	}
	stopCtx, stopF := context.WithCancel(context.Background())
	d := &Dispatcher{cfg: dc, logger: logger, translator: tr, regal: clients, keys: keys, rdb: rdb, limiters: limiters,
		keyPrefix: cfg.Collector.Store.KeyPrefix, slots: make(chan struct{}, dc.MaxInFlight),
		links: map[string]*link{}, stopCtx: stopCtx, stopF: stopF, discoverDone: make(chan struct{}),
		stats: Stats{Skipped: map[string]int{}}, tel: tel, phoneSalt: cfg.Telemetry.PhoneHashSalt.Reveal(),
		phoneHashes: memo.New[string, string](phoneHashCapacity, maphash.String),
		gate:        newTenantGate(dc.Regal.PauseProbeInterval)}
	if err := d.instrument(); err != nil {
		return nil, fmt.Errorf("dispatcher metrics: %w", err)
	}
	if err := d.observeRateLimits(); err != nil {
		return nil, fmt.Errorf("dispatcher metrics: %w", err)
	}
	return d, nil
}

// ID is the dispatcher's name in the collector's sessions.
func (d *Dispatcher) ID() string { return d.cfg.ID }

// Start subscribes to every collector (those configured, or those in the
// registry, followed from then on) and begins taking deliveries. A
// dispatcher starts once.
func (d *Dispatcher) Start(context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return errors.New("dispatcher: already started or shut down")
	}
	authOpts, err := grpcauth.DialOptions(d.cfg.CollectorAuth)
	if err != nil {
		return fmt.Errorf("dispatcher.collector_auth: %w", err)
	}
	d.dialOpts = authOpts
	d.subscribed.Store(true)
	return d.startCollectors()
}

// Readiness returns the dispatcher's readiness checks, for /readyz:
// "subscribed" holds while a delivery stream to at least one collector is
// open and accepted (the others may be down: the dispatcher delivers what
// it can).
func (d *Dispatcher) Readiness() []telemetry.Check {
	return []telemetry.Check{{Name: "subscribed", Check: func() error {
		if !d.subscribed.Load() {
			return errors.New("not started")
		}
		if open, _, addrs := d.streams(); open == 0 {
			return notSubscribed(addrs, d.cfg.Discovery)
		}
		return nil
	}}}
}

// Shutdown stops following the registry, stops taking deliveries from
// every collector, finishes in-flight ones within the configured grace (or
// ctx, if sooner), and disconnects. It returns by then whatever state the
// dispatcher is in (never started, connecting to collectors it cannot
// reach, delivering). Idempotent.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.started.Store(true)
	d.stopF()
	if d.subscribed.Load() {
		<-d.discoverDone
	}
	grace, cancel := context.WithTimeout(ctx, d.cfg.ShutdownGrace)
	err := d.closeLinks(grace)
	cancel()
	for _, c := range d.regal {
		c.CloseIdleConnections()
	}
	if d.rdb != nil {
		err = errors.Join(err, d.rdb.Close())
		d.rdb = nil
	}
	return err
}

// Paused lists the tenants this dispatcher holds paused because Regal
// refuses their account.
func (d *Dispatcher) Paused() []PauseInfo { return d.gate.snapshot() }

// Stats returns a snapshot of the outcome counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Skipped = map[string]int{}
	for k, v := range d.stats.Skipped {
		s.Skipped[k] = v
	}
	return s
}

// Handle translates and sends one delivery, and says how it went. It is the
// subscriber's Handler and is safe for concurrent use.
func (d *Dispatcher) Handle(ctx context.Context, del *deliveryv1.Delivery) *deliveryv1.Ack {
	d.inst.inFlight.Add(1)
	defer d.inst.inFlight.Add(-1)
	ev := del.GetEvent()
	tc := del.GetTraceContext()
	if len(tc) == 0 {
		tc = ev.GetTraceContext()
	}
	ctx = telemetry.WithSpanAttributes(telemetry.Extract(ctx, tc),
		telemetry.InteractionIDKey.String(ev.GetInteractionId()),
		telemetry.EventTypeKey.String(ev.GetEventType()),
		telemetry.TenantKey.String(ev.GetTenant()))
	// One attribute slice and option rather than one per group: each
	// option and each growth of the span's list is an allocation.
	inherited := telemetry.SpanAttributes(ctx)
	attrs := make([]attribute.KeyValue, 0, len(inherited)+3)
	attrs = append(append(attrs, inherited...),
		telemetry.DeliveryIDKey.Int64(int64(del.GetDeliveryId())),
		telemetry.DispatcherIDKey.String(d.cfg.ID),
		attribute.Int("cc.redelivery", int(del.GetRedelivery())),
	)
	ctx, span := d.inst.tracer.Start(ctx, "dispatcher.process "+ev.GetEventType(),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	ack := d.handle(ctx, del)
	d.record(ctx, span, ack)
	span.End()
	d.mu.Lock()
	switch ack.GetOutcome() {
	case deliveryv1.Outcome_OUTCOME_DELIVERED:
		d.stats.Delivered++
	case deliveryv1.Outcome_OUTCOME_SKIPPED:
		d.stats.Skipped[ack.GetReason()]++
	case deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE:
		d.stats.FailedRetryable++
	case deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT:
		d.stats.FailedPermanent++
	case deliveryv1.Outcome_OUTCOME_TENANT_PAUSED:
		d.stats.Paused++
	}
	d.mu.Unlock()
	return ack
}

func (d *Dispatcher) handle(ctx context.Context, del *deliveryv1.Delivery) *deliveryv1.Ack {
	ev := del.GetEvent()
	tenant := ev.GetTenant()
	re, err := d.translator.Translate(ev)
	if re != nil && re.Traits != nil {
		for phone := range re.Traits.Phones {
			trace.SpanFromContext(ctx).SetAttributes(telemetry.PhoneHashKey.String(d.phoneHash(phone)))
		}
	}
	if reason, noPhone := translate.IsNoPhone(err); noPhone {
		// Dead-lettered, not skipped: kept with its reason (never the
		// number), counted, alerted on, and replayable once fixed.
		eventLogger(d.logger, ev).WarnContext(ctx, "event has no usable phone; dead-lettering", "reason", reason, "err", err)
		return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT, Reason: err.Error()}
	}
	if reason, skip := translate.IsSkip(err); skip {
		// Skipping needs no Regal request, so it goes on while the tenant
		// is paused.
		if d.logger.Enabled(ctx, slog.LevelDebug) {
			eventLogger(d.logger, ev).DebugContext(ctx, "event not sent", "reason", reason)
		}
		return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_SKIPPED, Reason: reason}
	}
	if err != nil {
		eventLogger(d.logger, ev).ErrorContext(ctx, "translate failed; dead-lettering", "err", err)
		return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT, Reason: "translate: " + err.Error()}
	}
	send, probe, wait := d.gate.admit(tenant)
	if !send {
		return pausedAck(wait, "tenant paused: Regal refuses its account; waiting for the next probe")
	}
	key, ok := d.keys[tenant]
	if !ok {
		// A configuration fault of the tenant, not of the event: no event
		// of the tenant can be sent until the dispatcher is configured.
		return d.pause(ctx, ev, probe, regal.PauseKeyUnusable, 0, "no Regal key configured for tenant "+tenant)
	}
	res := d.regal[tenant].Send(ctx, key, re)
	d.inst.observeAge(ctx, del, res.FirstAttemptAt)
	ack := &deliveryv1.Ack{Attempts: uint32(res.Attempts), RegalStatus: int32(res.Status), RegalEventName: re.Name}
	v := regal.Classify(res)
	switch v.Outcome {
	case regal.OutcomeDelivered:
		d.resume(ctx, tenant)
		ack.Outcome = deliveryv1.Outcome_OUTCOME_DELIVERED
		if d.logger.Enabled(ctx, slog.LevelDebug) {
			eventLogger(d.logger, ev).DebugContext(ctx, "delivered to Regal", "regal_event", re.Name, "attempts", res.Attempts)
		}
		return ack
	case regal.OutcomePauseTenant:
		return d.pause(ctx, ev, probe, v.Class, res.Status, withoutPhones(res.Err.Error(), ev, re))
	case regal.OutcomeDeadLetter:
		if res.Status != 0 {
			// Regal judged the event itself: the account works.
			d.resume(ctx, tenant)
		} else if probe {
			// Dead-lettered before any request (it cannot be encoded): the
			// account is not known to work; another event probes.
			d.gate.probeUnanswered(tenant)
		}
		ack.Outcome = deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT
		ack.Reason = withoutPhones(res.Err.Error(), ev, re)
		eventLogger(d.logger, ev).WarnContext(ctx, "Regal rejected the event; dead-lettering", "status", res.Status, "class", v.Class, "attempts", res.Attempts, "err", ack.Reason)
		return ack
	}
	if probe {
		// The probe's answer says nothing about the account (Regal failing,
		// or this dispatcher stopping): the tenant stays paused, and the
		// probe is not counted as an attempt of the event.
		return pausedAck(d.gate.probeFailed(tenant), "tenant paused: the probe got no answer about the account: "+withoutPhones(res.Err.Error(), ev, re))
	}
	ack.Outcome = deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE
	switch v.Class {
	case regal.ClassStopped:
		ack.Reason = "dispatcher stopped before Regal answered"
	case regal.ClassBudgetSpent:
		// This send's attempts are spent on transient failures (5xx, 429,
		// network); the collector delivers it again later and dead-letters
		// it when the event's whole budget is spent.
		ack.Reason = withoutPhones(res.Err.Error(), ev, re)
		eventLogger(d.logger, ev).WarnContext(ctx, "Regal unavailable; the event will be delivered again", "status", res.Status, "attempts", res.Attempts, "err", ack.Reason)
	default:
		ack.Reason = withoutPhones(res.Err.Error(), ev, re)
		eventLogger(d.logger, ev).WarnContext(ctx, "Regal refused the event without saying why; it will be delivered again within its retry budget", "status", res.Status, "class", v.Class, "attempts", res.Attempts, "err", ack.Reason)
	}
	return ack
}

// pause records that Regal refuses the tenant's account and answers the
// delivery "tenant paused": it is not settled and not an attempt, and the
// collector holds the tenant's deliveries until the next probe. The start
// of a pause is logged once, with the tenant and why (never the key).
func (d *Dispatcher) pause(ctx context.Context, ev *eventv1.Event, probe bool, reason string, status int, detail string) *deliveryv1.Ack {
	tenant := ev.GetTenant()
	started, wait := d.gate.paused(tenant, reason, status)
	switch {
	case started:
		d.logger.ErrorContext(ctx, "ALERT: Regal refuses the tenant's account; its deliveries are paused, in order, and probed until it is fixed",
			"tenant", tenant, "reason", reason, "status", status, "probe_every", wait, "err", detail)
	case probe:
		d.logger.InfoContext(ctx, "probe: Regal still refuses the tenant's account; deliveries stay paused",
			"tenant", tenant, "reason", reason, "status", status, "next_probe_in", wait)
	}
	return pausedAck(wait, "tenant paused ("+reason+"): "+detail)
}

// resume ends the tenant's pause, if any, and logs it.
func (d *Dispatcher) resume(ctx context.Context, tenant string) {
	if lasted := d.gate.resumed(tenant); lasted > 0 {
		d.logger.InfoContext(ctx, "Regal accepts the tenant's account again; deliveries resume", "tenant", tenant, "paused_for", lasted.Round(time.Millisecond))
	}
}

func pausedAck(wait time.Duration, reason string) *deliveryv1.Ack {
	return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_TENANT_PAUSED, Reason: reason, RetryAfter: durationpb.New(wait)}
}

// eventLogger is logger with the attributes that identify ev. With formats
// them at once, so the hot path builds it only when a line is written.
func eventLogger(logger *slog.Logger, ev *eventv1.Event) *slog.Logger {
	return logger.With("tenant", ev.GetTenant(), "interaction_id", ev.GetInteractionId(), "event_type", ev.GetEventType())
}

// phoneHash is telemetry.HashPhone(phone, d.phoneSalt), remembered because
// every event of an interaction carries the same phone.
func (d *Dispatcher) phoneHash(phone string) string {
	if h, ok := d.phoneHashes.Get(phone); ok {
		return h
	}
	h := telemetry.HashPhone(phone, d.phoneSalt)
	d.phoneHashes.Add(phone, h)
	return h
}

// withoutPhones masks the contact's phone numbers in text (Regal may echo
// the request in an error body), because a failure reason travels to logs,
// spans and dead letters, where phones must not appear in clear.
func withoutPhones(text string, ev *eventv1.Event, re *regal.Event) string {
	var phones []string
	if raw := ev.GetInteraction().GetCustomerPhone(); raw != "" {
		phones = append(phones, raw)
	}
	if re != nil && re.Traits != nil {
		for p := range re.Traits.Phones {
			phones = append(phones, p, strings.TrimPrefix(p, "+"))
		}
	}
	for _, p := range phones {
		if len(p) >= 6 {
			text = strings.ReplaceAll(text, p, telemetry.MaskPhone(p))
		}
	}
	return text
}
