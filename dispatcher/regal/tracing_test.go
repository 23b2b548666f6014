package regal_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// startedSpan is what a span looked like when it started.
type startedSpan struct {
	name       string
	kind       trace.SpanKind
	attributes string
}

// spanRecorder is a TracerProvider that notes every span start and
// otherwise behaves as a no-op provider. It records only until stop.
type spanRecorder struct {
	embedded.TracerProvider
	mu      sync.Mutex
	spans   []startedSpan
	stopped bool
}

func (r *spanRecorder) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return &recordingTracer{recorder: r}
}

func (r *spanRecorder) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
}

func (r *spanRecorder) started() []startedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]startedSpan(nil), r.spans...)
}

type recordingTracer struct {
	embedded.Tracer
	recorder *spanRecorder
}

func (t *recordingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	var attrs []string
	for _, a := range cfg.Attributes() {
		attrs = append(attrs, string(a.Key)+"="+a.Value.String())
	}
	t.recorder.mu.Lock()
	if !t.recorder.stopped {
		t.recorder.spans = append(t.recorder.spans, startedSpan{name: name, kind: cfg.SpanKind(), attributes: strings.Join(attrs, " ")})
	}
	t.recorder.mu.Unlock()
	return noop.NewTracerProvider().Tracer("").Start(ctx, name, opts...)
}

func TestNewClient_default_transport_makes_a_client_span_per_attempt(t *testing.T) {
	recorder := &spanRecorder{}
	t.Cleanup(recorder.stop)

	double := startDouble(t)
	double.SetStatusSequence(503)
	cfg := fastConfig(double.URL())
	cfg.TracerProvider = recorder
	res := newClient(t, cfg).Send(context.Background(), testKey, sampleEvent())
	if res.Err != nil || res.Attempts != 2 {
		t.Fatalf("Send = %+v, want success on attempt 2", res)
	}

	var attempts, clients []startedSpan
	for _, span := range recorder.started() {
		if strings.Contains(span.attributes, testKey.Reveal()) {
			t.Errorf("span attributes %q carry the API key", span.attributes)
		}
		switch {
		case span.kind == trace.SpanKindClient && span.name == "POST /events":
			clients = append(clients, span)
		case span.name == "regal.attempt":
			attempts = append(attempts, span)
		default:
			t.Errorf("unexpected span %q kind %s", span.name, span.kind)
		}
	}
	if len(clients) != 2 || len(attempts) != 2 {
		t.Fatalf("%d client spans and %d attempt spans, want 2 of each", len(clients), len(attempts))
	}
	for i, a := range attempts {
		if want := fmt.Sprintf("regal.attempt=%d", i+1); a.attributes != want {
			t.Errorf("attempt span %d has %q, want %q", i, a.attributes, want)
		}
	}
}
