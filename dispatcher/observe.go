package dispatcher

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const instrumentation = "github.com/ccbridge/bridge/dispatcher"

// instruments are the dispatcher's own metrics (Regal's are made by
// dispatcher/regal). Labels are low-cardinality: outcome and skip reason.
type instruments struct {
	tracer     trace.Tracer
	deliveries metric.Int64Counter
	inFlight   atomic.Int64
}

func (d *Dispatcher) instrument() error {
	m := d.tel.Meter(instrumentation)
	in := &instruments{tracer: d.tel.Tracer(instrumentation)}
	var err error
	in.deliveries, err = m.Int64Counter("ccb.dispatcher.deliveries", metric.WithUnit("{event}"),
		metric.WithDescription("Deliveries settled by this dispatcher, by outcome (delivered, skipped, failed_retryable, failed_permanent) and skip reason."))
	if err != nil {
		return err
	}
	gauge, err := m.Int64ObservableGauge("ccb.dispatcher.in_flight", metric.WithUnit("{event}"),
		metric.WithDescription("Deliveries this dispatcher is working on."))
	if err != nil {
		return err
	}
	if _, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(gauge, in.inFlight.Load())
		return nil
	}, gauge); err != nil {
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
}

// record counts an outcome and puts it on the delivery's span.
func (d *Dispatcher) record(ctx context.Context, span trace.Span, ack *deliveryv1.Ack) {
	outcome := outcomeNames[ack.GetOutcome()]
	reason := ""
	if ack.GetOutcome() == deliveryv1.Outcome_OUTCOME_SKIPPED {
		reason = ack.GetReason() // one of translate's fixed reasons
	}
	d.inst.deliveries.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome), attribute.String("reason", reason)))
	span.SetAttributes(attribute.String("cc.outcome", outcome), attribute.Int("regal.attempts", int(ack.GetAttempts())))
	if ack.GetRegalEventName() != "" {
		span.SetAttributes(telemetry.RegalEventNameKey.String(ack.GetRegalEventName()))
	}
	if ack.GetRegalStatus() != 0 {
		span.SetAttributes(telemetry.RegalStatusCodeKey.Int(int(ack.GetRegalStatus())))
	}
	switch ack.GetOutcome() {
	case deliveryv1.Outcome_OUTCOME_SKIPPED:
		span.SetAttributes(attribute.String("cc.skip_reason", reason))
	case deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE, deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT:
		span.SetStatus(codes.Error, ack.GetReason())
	}
}
