package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestInjectExtractContinuesTrace(t *testing.T) {
	installPropagator()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	tracer := provider.Tracer("test")

	member, err := baggage.NewMember("cc.tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	senderCtx, sender := tracer.Start(baggage.ContextWithBaggage(context.Background(), bag), "sapi.receive")
	carrier := map[string]string{}
	Inject(senderCtx, carrier)
	sender.End()

	receiverCtx := Extract(context.Background(), carrier)
	_, receiver := tracer.Start(receiverCtx, "dispatch.process")
	receiver.End()

	if carrier["traceparent"] == "" {
		t.Fatalf("Inject wrote %v, want a traceparent", carrier)
	}
	if got := baggage.FromContext(receiverCtx).Member("cc.tenant").Value(); got != "acme" {
		t.Errorf("extracted baggage cc.tenant = %q, want %q", got, "acme")
	}
	spans := recorder.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want 2", len(spans))
	}
	senderSC, receiverSpan := spans[0].SpanContext(), spans[1]
	if receiverSpan.SpanContext().TraceID() != senderSC.TraceID() {
		t.Errorf("receiver trace %s, want sender's %s", receiverSpan.SpanContext().TraceID(), senderSC.TraceID())
	}
	if receiverSpan.Parent().SpanID() != senderSC.SpanID() || !receiverSpan.Parent().IsRemote() {
		t.Errorf("receiver parent %v, want remote sender span %s", receiverSpan.Parent(), senderSC.SpanID())
	}
}

func TestExtractWithoutContext(t *testing.T) {
	installPropagator()
	tests := []struct {
		name    string
		carrier map[string]string
	}{
		{name: "nil_map", carrier: nil},
		{name: "empty_map", carrier: map[string]string{}},
		{name: "malformed_traceparent", carrier: map[string]string{"traceparent": "not-a-traceparent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := Extract(context.Background(), tt.carrier)
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				t.Errorf("Extract(%v) gave span context %v, want none", tt.carrier, sc)
			}
		})
	}
}

func TestInjectWithoutSpanWritesNothing(t *testing.T) {
	installPropagator()
	carrier := map[string]string{}
	Inject(context.Background(), carrier)
	if len(carrier) != 0 {
		t.Errorf("Inject without a span wrote %v, want nothing", carrier)
	}
}
