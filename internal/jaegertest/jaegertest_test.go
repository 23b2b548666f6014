package jaegertest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ccbridge/bridge/internal/jaegertest"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// waitTimeout bounds how long a test waits for spans to reach Jaeger.
const waitTimeout = 30 * time.Second

// TestOneTraceAcrossTwoServicesFoundByInteractionID sends one interaction's
// spans from a "collector" and a "dispatcher" Telemetry, joined through a
// trace_context map as the protobuf event carries it, over each OTLP
// protocol, and finds them in Jaeger as one trace by cc.interaction_id.
func TestOneTraceAcrossTwoServicesFoundByInteractionID(t *testing.T) {
	jaeger := jaegertest.Start(t)

	tests := []struct {
		name     string
		protocol string
		endpoint string
	}{
		{name: "grpc", protocol: "grpc", endpoint: jaeger.OTLPEndpoint()},
		{name: "http_protobuf", protocol: "http/protobuf", endpoint: jaeger.OTLPHTTPEndpoint()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", tt.endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tt.protocol)
			collector := setup(t, telemetry.Config{ServiceName: "collector-" + tt.name, ServiceVersion: "1.2.3", InstanceID: "collector-0"})
			dispatcher := setup(t, telemetry.Config{ServiceName: "dispatcher-" + tt.name, ServiceVersion: "1.2.3", InstanceID: "dispatcher-a"})

			interactionID := "int-" + tt.name
			collectorSpan, dispatcherSpan := sendInteraction(collector, dispatcher, interactionID)
			sendInteraction(collector, dispatcher, "other-"+tt.name)
			flush(t, collector, dispatcher)

			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			tags := map[string]string{string(telemetry.InteractionIDKey): interactionID}
			traces, err := jaeger.WaitForTrace(ctx, "collector-"+tt.name, tags, func(traces []jaegertest.Trace) bool {
				return len(traces) > 0 && len(traces[0].Spans) >= 2
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(traces) != 1 {
				t.Fatalf("found %d traces for %s, want exactly 1: %+v", len(traces), interactionID, traces)
			}
			found := traces[0]
			wantServices := []string{"collector-" + tt.name, "dispatcher-" + tt.name}
			if got := found.Services(); !slices.Equal(got, wantServices) {
				t.Errorf("trace services = %v, want %v", got, wantServices)
			}
			if found.TraceID != collectorSpan.TraceID().String() {
				t.Errorf("trace id %s, want the collector's %s", found.TraceID, collectorSpan.TraceID())
			}
			receive, ok := found.Span("sapi.receive")
			if !ok {
				t.Fatalf("no sapi.receive span in %+v", found)
			}
			process, ok := found.Span("dispatch.process")
			if !ok {
				t.Fatalf("no dispatch.process span in %+v", found)
			}
			if process.ParentSpanID != collectorSpan.SpanID().String() || process.SpanID != dispatcherSpan.SpanID().String() {
				t.Errorf("dispatch.process span %s parent %s, want span %s child of %s",
					process.SpanID, process.ParentSpanID, dispatcherSpan.SpanID(), collectorSpan.SpanID())
			}
			for _, span := range []jaegertest.Span{receive, process} {
				if span.Tags[string(telemetry.InteractionIDKey)] != interactionID {
					t.Errorf("%s tags %v lack %s=%s", span.OperationName, span.Tags, telemetry.InteractionIDKey, interactionID)
				}
				if span.ProcessTags["service.version"] != "1.2.3" || span.ProcessTags["service.instance.id"] == nil {
					t.Errorf("%s process tags %v lack service.version and service.instance.id", span.OperationName, span.ProcessTags)
				}
			}
			if got := process.Tags[string(telemetry.RegalStatusCodeKey)]; got != int64(500) {
				t.Errorf("dispatch.process %s = %#v, want int64(500)", telemetry.RegalStatusCodeKey, got)
			}

			got, err := jaeger.GetTrace(ctx, found.TraceID)
			if err != nil {
				t.Fatalf("GetTrace: %v", err)
			}
			if got.TraceID != found.TraceID || len(got.Spans) != len(found.Spans) {
				t.Errorf("GetTrace = %s with %d spans, want %s with %d", got.TraceID, len(got.Spans), found.TraceID, len(found.Spans))
			}
		})
	}
}

// TestFindTracesByBusinessKey checks the searches an operator runs for a
// failed delivery, and that the failure shows on the span.
func TestFindTracesByBusinessKey(t *testing.T) {
	jaeger := jaegertest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.OTLPEndpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	collector := setup(t, telemetry.Config{ServiceName: "collector"})
	dispatcher := setup(t, telemetry.Config{ServiceName: "dispatcher"})
	sendInteraction(collector, dispatcher, "int-failed")
	flush(t, collector, dispatcher)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	interaction := map[string]string{string(telemetry.InteractionIDKey): "int-failed"}
	traces, err := jaeger.WaitForTrace(ctx, "dispatcher", interaction, func(traces []jaegertest.Trace) bool {
		return len(traces) == 1 && len(traces[0].Spans) == 2
	})
	if err != nil {
		t.Fatal(err)
	}
	process, ok := traces[0].Span("dispatch.process")
	if !ok {
		t.Fatalf("no dispatch.process span in %+v", traces[0])
	}
	if process.Tags["error"] != true || process.Tags["otel.status_description"] != "regal answered 500" {
		t.Errorf("dispatch.process tags %v, want error=true and the status description", process.Tags)
	}

	tests := []struct {
		name       string
		service    string
		tags       map[string]string
		wantTraces int
	}{
		{name: "interaction_on_each_service", service: "collector", tags: interaction, wantTraces: 1},
		{name: "interaction_and_status_code", service: "dispatcher", tags: map[string]string{
			string(telemetry.InteractionIDKey): "int-failed", string(telemetry.RegalStatusCodeKey): "500",
		}, wantTraces: 1},
		{name: "tags_of_different_spans_do_not_combine", service: "collector", tags: map[string]string{
			string(telemetry.InteractionIDKey): "int-failed", string(telemetry.RegalStatusCodeKey): "500",
		}, wantTraces: 0},
		{name: "other_status_code", service: "dispatcher", tags: map[string]string{
			string(telemetry.InteractionIDKey): "int-failed", string(telemetry.RegalStatusCodeKey): "429",
		}, wantTraces: 0},
		{name: "other_interaction", service: "dispatcher", tags: map[string]string{
			string(telemetry.InteractionIDKey): "int-unknown",
		}, wantTraces: 0},
		{name: "unknown_service", service: "nobody", tags: interaction, wantTraces: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			traces, err := jaeger.FindTraces(ctx, tt.service, tt.tags)
			if err != nil {
				t.Fatal(err)
			}
			if len(traces) != tt.wantTraces {
				t.Errorf("FindTraces(%s, %v) found %d traces, want %d", tt.service, tt.tags, len(traces), tt.wantTraces)
			}
		})
	}

	if _, err := jaeger.GetTrace(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, jaegertest.ErrTraceNotFound) {
		t.Errorf("GetTrace(unknown) error = %v, want ErrTraceNotFound", err)
	}
}

func setup(t *testing.T, cfg telemetry.Config) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Setup %s: %v", cfg.ServiceName, err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

// sendInteraction records one event of interactionID as the bridge does:
// the collector's sapi.receive span injects its context into the event's
// trace_context map, and the dispatcher continues the trace from that map
// in a dispatch.process span whose Regal call failed with a 500.
func sendInteraction(collector, dispatcher *telemetry.Telemetry, interactionID string) (collectorSpan, dispatcherSpan trace.SpanContext) {
	interaction := telemetry.InteractionIDKey.String(interactionID)
	ctx, receive := collector.Tracer("collector").Start(context.Background(), "sapi.receive",
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(interaction))
	traceContext := map[string]string{}
	telemetry.Inject(ctx, traceContext)
	receive.End()

	ctx = telemetry.Extract(context.Background(), traceContext)
	_, process := dispatcher.Tracer("dispatcher").Start(ctx, "dispatch.process",
		trace.WithAttributes(interaction, telemetry.RegalStatusCodeKey.Int(500)))
	process.SetStatus(codes.Error, fmt.Sprintf("regal answered %d", 500))
	process.End()
	return receive.SpanContext(), process.SpanContext()
}

// flush sends every pending span by shutting the Telemetries down.
func flush(t *testing.T, tels ...*telemetry.Telemetry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for _, tel := range tels {
		if err := tel.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
}
