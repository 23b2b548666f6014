// Package telemetry sets up the OpenTelemetry traces and Prometheus metrics
// of one service, and holds the conventions every service shares: span
// attribute keys, trace context carried inside events, trace ids in logs and
// the masking of phone numbers.
//
// Traces are exported over OTLP as configured by the standard OTEL_*
// environment variables; metrics are pulled by Prometheus from the service's
// own registry (see ServeMetrics). Nothing is registered globally except the
// text map propagator, so several services can run in one process.
//
// Phone numbers are personal data: they never appear in clear in logs, spans
// or metrics. Use MaskPhone in log messages read by people ("+1********67"),
// who can recognise a number they already know, and HashPhone for the
// cc.phone_hash span attribute and a phone_hash log field, to find every
// span and log line of one contact exactly. Neither belongs in a metric
// label.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config names the service whose telemetry is set up. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES, when set, take precedence over these fields.
type Config struct {
	// ServiceName is the resource's service.name, e.g. "collector". Required.
	ServiceName string
	// ServiceVersion is the resource's service.version; omitted when empty.
	ServiceVersion string
	// InstanceID is the resource's service.instance.id, unique among the
	// running instances of the service (e.g. the dispatcher id); omitted
	// when empty.
	InstanceID string
}

// Telemetry owns one service's tracer and meter providers. Its methods are
// safe for concurrent use.
type Telemetry struct {
	tracerProvider *sdktrace.TracerProvider
	meterProvider  *sdkmetric.MeterProvider
	registry       *prometheus.Registry

	shutdownOnce sync.Once
	shutdownErr  error
}

// Setup builds the service's providers and installs the W3C TraceContext +
// Baggage propagator globally.
//
// Traces: sampled as OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG say
// (default parentbased_always_on, every trace kept) and batched
// (OTEL_BSP_*). They are exported over OTLP only when
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set,
// with the protocol of OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL ("grpc" or "http/protobuf", the default);
// headers, timeout, compression and TLS come from the exporter's own
// OTEL_EXPORTER_OTLP_* variables. Without an endpoint spans are still
// created and carry valid ids, but nothing is sent anywhere.
//
// Metrics: every instrument made from Meter is exposed by MetricsHandler,
// together with the Go runtime and process collectors, from a registry of
// this Telemetry's own.
//
// Setup fails on an unsupported OTLP protocol or a malformed
// OTEL_RESOURCE_ATTRIBUTES. The caller must call Shutdown to
// flush pending spans.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.ServiceName == "" {
		return nil, errors.New("telemetry: Config.ServiceName is required")
	}
	res, err := newResource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	exporter, err := newSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	registry, meterProvider, err := newMeterProvider(res)
	if err != nil {
		if exporter != nil {
			err = errors.Join(err, exporter.Shutdown(ctx))
		}
		return nil, err
	}
	installPropagator()
	return &Telemetry{
		tracerProvider: newTracerProvider(res, exporter),
		meterProvider:  meterProvider,
		registry:       registry,
	}, nil
}

// Tracer returns the named tracer (by convention the instrumenting package's
// import path).
func (t *Telemetry) Tracer(name string) trace.Tracer { return t.tracerProvider.Tracer(name) }

// Meter returns the named meter (by convention the instrumenting package's
// import path).
func (t *Telemetry) Meter(name string) metric.Meter { return t.meterProvider.Meter(name) }

// TracerProvider returns the provider, e.g. for otelgrpc or otelhttp's
// WithTracerProvider option.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// MeterProvider returns the provider, e.g. for otelgrpc or otelhttp's
// WithMeterProvider option.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.meterProvider }

// MetricsHandler serves this Telemetry's metrics in the Prometheus
// exposition formats.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{Registry: t.registry})
}

// Shutdown flushes pending spans to the exporter, then stops both providers.
// Spans and measurements made afterwards are dropped. It is idempotent: later
// calls do nothing and return the first call's result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		var errs []error
		if err := t.tracerProvider.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: shut down tracer provider: %w", err))
		}
		if err := t.meterProvider.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: shut down meter provider: %w", err))
		}
		t.shutdownErr = errors.Join(errs...)
	})
	return t.shutdownErr
}
