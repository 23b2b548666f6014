package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys that join a log line to its span.
const (
	LogTraceIDKey = "trace_id"
	LogSpanIDKey  = "span_id"
)

// logHandler adds trace_id and span_id to records logged with a context that
// carries a valid span.
type logHandler struct {
	// handler is the inner handler with every WithAttrs and WithGroup
	// applied: it handles records without a span.
	handler slog.Handler
	// base is the inner handler with only the attributes added before the
	// first group, so that trace ids stay at the top level.
	base slog.Handler
	// groups are the groups opened on top of base, with their attributes.
	groups []logGroup
}

// logGroup is a group opened with WithGroup and the attributes added in it.
type logGroup struct {
	name  string
	attrs []slog.Attr
}

// NewLogHandler wraps inner so that every record logged with a context
// carrying a valid span (slog's InfoContext and the like) gets the span's
// trace_id and span_id as top-level attributes, even under WithGroup.
// Records without such a context pass through unchanged.
func NewLogHandler(inner slog.Handler) slog.Handler {
	return &logHandler{handler: inner, base: inner}
}

// Enabled reports whether the inner handler handles records at level.
func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.handler.Enabled(ctx, level)
}

// Handle adds the span's ids to r, when ctx has a valid span, and passes it on.
func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.handler.Handle(ctx, r)
	}
	ids := []slog.Attr{
		slog.String(LogTraceIDKey, sc.TraceID().String()),
		slog.String(LogSpanIDKey, sc.SpanID().String()),
	}
	if len(h.groups) == 0 {
		r = r.Clone()
		r.AddAttrs(ids...)
		return h.handler.Handle(ctx, r)
	}
	grouped := h.base.WithAttrs(ids)
	for _, g := range h.groups {
		grouped = grouped.WithGroup(g.name)
		if len(g.attrs) > 0 {
			grouped = grouped.WithAttrs(g.attrs)
		}
	}
	return grouped.Handle(ctx, r)
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	next := &logHandler{handler: h.handler.WithAttrs(attrs), base: h.base, groups: h.groups}
	if len(h.groups) == 0 {
		next.base = next.handler
		return next
	}
	next.groups = append([]logGroup(nil), h.groups...)
	last := &next.groups[len(next.groups)-1]
	last.attrs = append(append([]slog.Attr(nil), last.attrs...), attrs...)
	return next
}

// WithGroup returns a handler that puts the record's attributes, and those
// added later, under name.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := append(append([]logGroup(nil), h.groups...), logGroup{name: name})
	return &logHandler{handler: h.handler.WithGroup(name), base: h.base, groups: groups}
}
