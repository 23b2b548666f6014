package telemetry

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The OTLP protocols a span exporter can speak, as spelled in
// OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
)

// newTracerProvider batches spans to exporter, or only records them when
// exporter is nil. The sampler is left to the SDK, which reads
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG and otherwise samples
// parentbased_always_on.
func newTracerProvider(res *resource.Resource, exporter sdktrace.SpanExporter) *sdktrace.TracerProvider {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if exporter != nil {
		opts = append(opts, sdktrace.WithBatcher(exporter))
	}
	return sdktrace.NewTracerProvider(opts...)
}

// newSpanExporter returns the OTLP exporter that the environment configures,
// or nil when neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor
// OTEL_EXPORTER_OTLP_ENDPOINT is set. The exporter reads its endpoint,
// headers, timeout, compression and TLS settings from the environment itself.
func newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return nil, nil
	}
	protocol := firstSet("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	switch protocol {
	case protocolGRPC:
		return otlptracegrpc.New(ctx)
	case protocolHTTPProtobuf, "":
		return otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("telemetry: OTLP protocol %q is not supported (use %q or %q)",
			protocol, protocolGRPC, protocolHTTPProtobuf)
	}
}

// firstSet returns the value of the first environment variable of names
// that is not empty, or "".
func firstSet(names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}
