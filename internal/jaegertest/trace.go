package jaegertest

import (
	"slices"
	"time"
)

// Trace is one trace as Jaeger's query API returns it.
type Trace struct {
	TraceID string // 32 lowercase hex digits
	Spans   []Span
}

// Span is one span of a Trace. Tags hold the span's attributes (plus
// Jaeger's own, such as "span.kind" and "error") and ProcessTags its
// resource's attributes other than service.name; values are string, int64,
// float64 or bool.
type Span struct {
	SpanID        string
	ParentSpanID  string // "" for a root span
	OperationName string
	ServiceName   string
	Tags          map[string]any
	ProcessTags   map[string]any
	StartTime     time.Time
	Duration      time.Duration
}

// Services returns the sorted, distinct service names of the trace's spans.
func (t Trace) Services() []string {
	var services []string
	for _, span := range t.Spans {
		if !slices.Contains(services, span.ServiceName) {
			services = append(services, span.ServiceName)
		}
	}
	slices.Sort(services)
	return services
}

// Span returns the first span named operation.
func (t Trace) Span(operation string) (Span, bool) {
	for _, span := range t.Spans {
		if span.OperationName == operation {
			return span, true
		}
	}
	return Span{}, false
}
