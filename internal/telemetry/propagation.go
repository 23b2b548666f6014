package telemetry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// installPropagator sets the global text map propagator to W3C TraceContext
// and Baggage, the one every service of the bridge speaks.
func installPropagator() {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
}

// Inject writes the trace context and baggage of ctx into m (the
// trace_context field of an event: "traceparent", "tracestate", "baggage")
// with the global propagator. m must not be nil. It writes nothing when ctx
// carries no valid span and no baggage.
func Inject(ctx context.Context, m map[string]string) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(m))
}

// Extract returns ctx with the remote span context and baggage read from m by
// the global propagator, so that a span started from it continues the
// sender's trace. A nil, empty or malformed m leaves ctx as it is.
func Extract(ctx context.Context, m map[string]string) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(m))
}
