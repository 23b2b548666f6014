package regal

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ccbridge/bridge/internal/telemetry"
)

const instrumentation = "github.com/ccbridge/bridge/dispatcher/regal"

// observer makes the client's spans and metrics: one span per attempt
// (the HTTP CLIENT span nests inside it), a latency histogram and response
// counts by status, and a count of retries.
type observer struct {
	tracer    trace.Tracer
	latency   metric.Float64Histogram
	responses metric.Int64Counter
	retries   metric.Int64Counter
}

func newObserver(cfg Config) *observer {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(instrumentation)
	o := &observer{tracer: tp.Tracer(instrumentation)}
	// Instrument errors only come from invalid names, fixed here.
	o.latency, _ = m.Float64Histogram("ccb.regal.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Latency of Regal POST /events attempts, by status code."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	o.responses, _ = m.Int64Counter("ccb.regal.responses", metric.WithDescription("Regal answers (and network failures as status_code=error), by status code."))
	o.retries, _ = m.Int64Counter("ccb.regal.retries", metric.WithDescription("Regal attempts retried after a transient failure."))
	return o
}

func statusLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}

// statusOpts are the metric options of one status code, as the argument
// lists of Record and Add.
type statusOpts struct {
	record []metric.RecordOption
	add    []metric.AddOption
}

// statusOptions are the statusOpts of each status code (0 for a network
// failure), built on first use: building an attribute set and the argument
// lists costs allocations and hashing on every attempt otherwise.
var statusOptions [600]atomic.Pointer[statusOpts]

func statusOption(status int) *statusOpts {
	if status >= 0 && status < len(statusOptions) {
		if o := statusOptions[status].Load(); o != nil {
			return o
		}
	}
	attr := metric.WithAttributeSet(attribute.NewSet(attribute.String("status_code", statusLabel(status))))
	o := &statusOpts{record: []metric.RecordOption{attr}, add: []metric.AddOption{attr}}
	if status >= 0 && status < len(statusOptions) {
		statusOptions[status].Store(o)
	}
	return o
}

// observedAttempt runs one attempt inside its span and records it.
func (c *Client) observedAttempt(ctx context.Context, n int, key string, body []byte) attemptOutcome {
	inherited := telemetry.SpanAttributes(ctx)
	attrs := make([]attribute.KeyValue, 0, len(inherited)+1)
	attrs = append(append(attrs, inherited...), telemetry.RegalAttemptKey.Int(n))
	ctx, span := c.obs.tracer.Start(ctx, "regal.attempt", trace.WithAttributes(attrs...))
	start := time.Now()
	out := c.attempt(ctx, key, body)
	status := statusOption(out.status)
	c.obs.latency.Record(ctx, time.Since(start).Seconds(), status.record...)
	c.obs.responses.Add(ctx, 1, status.add...)
	if out.status != 0 {
		span.SetAttributes(telemetry.RegalStatusCodeKey.Int(out.status))
	}
	if out.err != nil {
		span.SetStatus(codes.Error, out.err.Error())
	}
	span.End()
	return out
}

// retry records that a failed attempt is followed by another after wait.
func (o *observer) retry(ctx context.Context, wait time.Duration, out attemptOutcome) {
	o.retries.Add(ctx, 1)
	trace.SpanFromContext(ctx).AddEvent("regal.retry_wait", trace.WithAttributes(
		attribute.Float64("wait_seconds", wait.Seconds()),
		telemetry.RegalStatusCodeKey.Int(out.status),
	))
}
