package regal_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
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
		attrs = append(attrs, string(a.Key)+"="+a.Value.Emit())
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
	// The global provider cannot be given back its delegating default, so
	// the recorder stays installed but stops recording after this test.
	otel.SetTracerProvider(recorder)
	t.Cleanup(recorder.stop)

	double := startDouble(t)
	double.SetStatusSequence(503)
	res := newClient(t, fastConfig(double.URL())).Send(context.Background(), testKey, sampleEvent())
	if res.Err != nil || res.Attempts != 2 {
		t.Fatalf("Send = %+v, want success on attempt 2", res)
	}

	spans := recorder.started()
	if len(spans) != 2 {
		t.Fatalf("started %d spans, want one per attempt (2): %+v", len(spans), spans)
	}
	for _, span := range spans {
		if span.kind != trace.SpanKindClient || span.name != "POST /events" {
			t.Errorf("span %q kind %s, want \"POST /events\" of kind client", span.name, span.kind)
		}
		if strings.Contains(span.attributes, testKey.Reveal()) {
			t.Errorf("span attributes %q carry the API key", span.attributes)
		}
	}
}
