package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// Span attribute keys shared by every service. Put InteractionIDKey on every
// span about an interaction, not only on the root: Jaeger's tag search
// matches single spans, so "service=dispatcher cc.interaction_id=X
// error=true" then finds the failing span. These keys are for spans and logs;
// never use them as metric labels, their cardinality is unbounded.
const (
	// InteractionIDKey is the 8x8 interaction id (the business key of a trace).
	InteractionIDKey attribute.Key = "cc.interaction_id"
	// EventTypeKey is the 8x8 event type, e.g. "InteractionCreated".
	EventTypeKey attribute.Key = "cc.event_type"
	// TenantKey is the 8x8 tenant the event came from.
	TenantKey attribute.Key = "cc.tenant"
	// DedupKeyKey is the event's deduplication key.
	DedupKeyKey attribute.Key = "cc.dedup_key"
	// DedupVerdictKey is the outcome of deduplication, e.g. "new" or "duplicate".
	DedupVerdictKey attribute.Key = "cc.dedup.verdict"
	// DeliveryIDKey identifies one delivery of an event to a dispatcher.
	DeliveryIDKey attribute.Key = "cc.delivery_id"
	// DispatcherIDKey is the id of the dispatcher handling a delivery.
	DispatcherIDKey attribute.Key = "cc.dispatcher_id"
	// PhoneHashKey is HashPhone of the contact's phone; the phone itself is
	// never a span attribute.
	PhoneHashKey attribute.Key = "cc.phone_hash"
	// RegalEventNameKey is the name of the Regal custom event sent.
	RegalEventNameKey attribute.Key = "regal.event_name"
	// RegalAttemptKey is the 1-based attempt number of a Regal call.
	RegalAttemptKey attribute.Key = "regal.attempt"
	// RegalStatusCodeKey is the HTTP status Regal answered.
	RegalStatusCodeKey attribute.Key = "regal.status_code"
)

type spanAttributesKey struct{}

// WithSpanAttributes returns ctx carrying attributes that spans started
// below it by code that does not know them (a client library) should carry
// too, such as the interaction id.
func WithSpanAttributes(ctx context.Context, attrs ...attribute.KeyValue) context.Context {
	prev := SpanAttributes(ctx)
	all := make([]attribute.KeyValue, 0, len(prev)+len(attrs))
	return context.WithValue(ctx, spanAttributesKey{}, append(append(all, prev...), attrs...))
}

// SpanAttributes returns the attributes put in ctx by WithSpanAttributes.
func SpanAttributes(ctx context.Context) []attribute.KeyValue {
	attrs, _ := ctx.Value(spanAttributesKey{}).([]attribute.KeyValue)
	return attrs
}
