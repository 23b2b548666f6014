package delivery

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// openSpans are the delivery spans of one stream, ended by their acks.
type openSpans struct {
	mu   sync.Mutex
	byID map[uint64]trace.Span
}

func newOpenSpans() *openSpans { return &openSpans{byID: map[uint64]trace.Span{}} }

func (o *openSpans) add(id uint64, span trace.Span) {
	o.mu.Lock()
	o.byID[id] = span
	o.mu.Unlock()
}

// settle ends the span of an acknowledged delivery with its outcome.
func (o *openSpans) settle(ack *deliveryv1.Ack) {
	o.mu.Lock()
	span, ok := o.byID[ack.GetDeliveryId()]
	delete(o.byID, ack.GetDeliveryId())
	o.mu.Unlock()
	if !ok {
		return
	}
	span.SetAttributes(
		attribute.String("cc.outcome", ack.GetOutcome().String()),
		attribute.Int("regal.attempts", int(ack.GetAttempts())),
		telemetry.RegalStatusCodeKey.Int(int(ack.GetRegalStatus())),
	)
	if name := ack.GetRegalEventName(); name != "" {
		span.SetAttributes(telemetry.RegalEventNameKey.String(name))
	}
	switch ack.GetOutcome() {
	case deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT:
		span.SetStatus(codes.Error, "dead-lettered: "+ack.GetReason())
	case deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE:
		span.SetStatus(codes.Error, "not delivered, delivered again later: "+ack.GetReason())
	case deliveryv1.Outcome_OUTCOME_SKIPPED:
		span.SetAttributes(attribute.String("cc.skip_reason", ack.GetReason()))
	}
	span.End()
}

// endAll ends the spans of deliveries never acknowledged.
func (o *openSpans) endAll(why string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, span := range o.byID {
		span.SetStatus(codes.Error, why)
		span.End()
		delete(o.byID, id)
	}
}
