package dispatcher

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ccbridge/bridge/dispatcher/translate"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const instrumentation = "github.com/ccbridge/bridge/dispatcher"

// instruments are the dispatcher's own metrics (Regal's are made by
// dispatcher/regal). Labels are low-cardinality: outcome and skip reason.
type instruments struct {
	tracer     trace.Tracer
	deliveries metric.Int64Counter
	// eventAge is how old an event is when its first Regal request
	// leaves: from the collector reading it off SAPI, so it holds every
	// wait in between (admission, order, streams, rate limit).
	eventAge metric.Float64Histogram
	inFlight atomic.Int64
	// held is the bytes of the deliveries the subscribers hold
	// (subscriber.WithHeldBytes).
	held atomic.Int64
	// discoveryErrors counts failed reads of the collector registry and
	// failed subscriptions to a collector it names.
	discoveryErrors metric.Int64Counter
	// outcomeOpts are the deliveries counter's attributes for each
	// outcome and skip reason, as Add's argument list, built once instead
	// of on every delivery.
	outcomeOpts map[outcomeLabels][]metric.AddOption
}

type outcomeLabels struct{ outcome, reason string }

func newOutcomeOptions() map[outcomeLabels][]metric.AddOption {
	opts := map[outcomeLabels][]metric.AddOption{}
	add := func(l outcomeLabels) {
		opts[l] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String("outcome", l.outcome), attribute.String("reason", l.reason)))}
	}
	for _, outcome := range outcomeNames {
		add(outcomeLabels{outcome: outcome})
	}
	// The one skip reason left: an event without a usable phone is a dead
	// letter now.
	add(outcomeLabels{outcome: outcomeNames[deliveryv1.Outcome_OUTCOME_SKIPPED], reason: translate.ReasonUnmappedEvent})
	return opts
}

func (in *instruments) outcomeOptions(outcome, reason string) []metric.AddOption {
	if o, ok := in.outcomeOpts[outcomeLabels{outcome, reason}]; ok {
		return o
	}
	return []metric.AddOption{metric.WithAttributes(attribute.String("outcome", outcome), attribute.String("reason", reason))}
}

func (d *Dispatcher) instrument() error {
	m := d.tel.Meter(instrumentation)
	in := &instruments{tracer: d.tel.Tracer(instrumentation), outcomeOpts: newOutcomeOptions()}
	var err error
	in.deliveries, err = m.Int64Counter("ccb.dispatcher.deliveries", metric.WithUnit("{event}"),
		metric.WithDescription("Deliveries answered by this dispatcher, by outcome (delivered, skipped, failed_retryable, failed_permanent, tenant_paused) and skip reason."))
	if err != nil {
		return err
	}
	in.eventAge, err = m.Float64Histogram("ccb.dispatcher.event_age", metric.WithUnit("s"),
		metric.WithDescription("Age of an event when this dispatcher sent its first Regal request: from the collector reading it off SAPI, by whether it is a redelivery."),
		metric.WithExplicitBucketBoundaries(telemetry.LatencyBuckets...))
	if err != nil {
		return err
	}
	gauge, err := m.Int64ObservableGauge("ccb.dispatcher.in_flight", metric.WithUnit("{event}"),
		metric.WithDescription("Deliveries this dispatcher is working on."))
	if err != nil {
		return err
	}
	held, err := m.Int64ObservableGauge("ccb.dispatcher.held_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by the deliveries this dispatcher received and has not acknowledged (working on, or waiting for a slot); the collector bounds them (collector.scheduler.max_in_flight_bytes)."))
	if err != nil {
		return err
	}
	paused, err := m.Int64ObservableGauge("ccb.dispatcher.tenant_paused",
		metric.WithDescription("1 while this dispatcher holds the tenant's deliveries because Regal refuses its account, with the reason (unauthorized: 401, forbidden: 403, endpoint: 404/405/redirect, key_unusable); 0 otherwise."))
	if err != nil {
		return err
	}
	in.discoveryErrors, err = m.Int64Counter("ccb.dispatcher.discovery_errors",
		metric.WithDescription("Failed reads of the collector registry (dispatcher.discovery: redis), and collectors it named that could not be subscribed to."))
	if err != nil {
		return err
	}
	streams, err := m.Int64ObservableGauge("ccb.dispatcher.collector_streams",
		metric.WithDescription("Collectors this dispatcher subscribes to, by state: open (a delivery stream is accepted) or down (connecting, refused or unreachable)."))
	if err != nil {
		return err
	}
	if _, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		open, down, _ := d.streams()
		o.ObserveInt64(streams, int64(open), streamsOpen)
		o.ObserveInt64(streams, int64(down), streamsDown)
		o.ObserveInt64(gauge, in.inFlight.Load())
		o.ObserveInt64(held, in.held.Load())
		seen := map[string]bool{}
		for _, p := range d.gate.snapshot() {
			seen[p.Tenant] = true
			o.ObserveInt64(paused, 1, metric.WithAttributes(attribute.String("tenant", p.Tenant), attribute.String("reason", p.Reason)))
		}
		for tenant := range d.keys {
			if !seen[tenant] {
				o.ObserveInt64(paused, 0, metric.WithAttributes(attribute.String("tenant", tenant)))
			}
		}
		return nil
	}, gauge, held, paused, streams); err != nil {
		return err
	}
	d.inst = in
	return nil
}

var outcomeNames = map[deliveryv1.Outcome]string{
	deliveryv1.Outcome_OUTCOME_DELIVERED:        "delivered",
	deliveryv1.Outcome_OUTCOME_SKIPPED:          "skipped",
	deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE: "failed_retryable",
	deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT: "failed_permanent",
	deliveryv1.Outcome_OUTCOME_TENANT_PAUSED:    "tenant_paused",
}

// Attribute options of the collector streams gauge, made once.
var (
	streamsOpen = metric.WithAttributeSet(attribute.NewSet(attribute.String("state", "open")))
	streamsDown = metric.WithAttributeSet(attribute.NewSet(attribute.String("state", "down")))
)

// Attribute options of the event age histogram, made once.
var (
	firstDelivery = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.Bool("redelivery", false)))}
	redelivery    = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.Bool("redelivery", true)))}
)

// observeAge records how old ev was when its first Regal request left.
func (in *instruments) observeAge(ctx context.Context, del *deliveryv1.Delivery, sentAt time.Time) {
	received := del.GetEvent().GetReceivedAt()
	if sentAt.IsZero() || received == nil {
		return
	}
	opts := firstDelivery
	if del.GetRedelivery() > 0 {
		opts = redelivery
	}
	in.eventAge.Record(ctx, max(sentAt.Sub(received.AsTime()), 0).Seconds(), opts...)
}

// record counts an outcome and puts it on the delivery's span.
func (d *Dispatcher) record(ctx context.Context, span trace.Span, ack *deliveryv1.Ack) {
	outcome := outcomeNames[ack.GetOutcome()]
	reason := ""
	if ack.GetOutcome() == deliveryv1.Outcome_OUTCOME_SKIPPED {
		reason = ack.GetReason() // one of translate's fixed reasons
	}
	d.inst.deliveries.Add(ctx, 1, d.inst.outcomeOptions(outcome, reason)...)
	// One SetAttributes call: each call allocates its argument list.
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, attribute.String("cc.outcome", outcome), attribute.Int("regal.attempts", int(ack.GetAttempts())))
	if ack.GetRegalEventName() != "" {
		attrs = append(attrs, telemetry.RegalEventNameKey.String(ack.GetRegalEventName()))
	}
	if ack.GetRegalStatus() != 0 {
		attrs = append(attrs, telemetry.RegalStatusCodeKey.Int(int(ack.GetRegalStatus())))
	}
	if ack.GetOutcome() == deliveryv1.Outcome_OUTCOME_SKIPPED {
		attrs = append(attrs, attribute.String("cc.skip_reason", reason))
	}
	span.SetAttributes(attrs...)
	switch ack.GetOutcome() {
	case deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE, deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT, deliveryv1.Outcome_OUTCOME_TENANT_PAUSED:
		span.SetStatus(codes.Error, ack.GetReason())
	}
}
