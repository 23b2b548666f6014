package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"testing/slogtest"

	"go.opentelemetry.io/otel/trace"
)

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c},
		SpanID:     trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31},
		TraceFlags: trace.FlagsSampled,
	})
	spanCtx := trace.ContextWithSpanContext(context.Background(), sc)
	const wantTrace, wantSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"

	tests := []struct {
		name      string
		ctx       context.Context
		log       func(l *slog.Logger, ctx context.Context)
		wantIDs   bool
		wantGroup map[string]any
	}{
		{
			name:    "context_with_span",
			ctx:     spanCtx,
			log:     func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "hello", "k", "v") },
			wantIDs: true,
		},
		{
			name:    "context_without_span",
			ctx:     context.Background(),
			log:     func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "hello", "k", "v") },
			wantIDs: false,
		},
		{
			name: "with_attrs_keeps_ids",
			ctx:  spanCtx,
			log: func(l *slog.Logger, ctx context.Context) {
				l.With("service", "collector").InfoContext(ctx, "hello")
			},
			wantIDs: true,
		},
		{
			name: "group_keeps_ids_at_top_level",
			ctx:  spanCtx,
			log: func(l *slog.Logger, ctx context.Context) {
				l.With("service", "collector").WithGroup("event").With("type", "Queued").InfoContext(ctx, "hello", "seq", 7)
			},
			wantIDs:   true,
			wantGroup: map[string]any{"type": "Queued", "seq": float64(7)},
		},
		{
			name: "group_without_span",
			ctx:  context.Background(),
			log: func(l *slog.Logger, ctx context.Context) {
				l.WithGroup("event").InfoContext(ctx, "hello", "seq", 7)
			},
			wantIDs:   false,
			wantGroup: map[string]any{"seq": float64(7)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
			tt.log(logger, tt.ctx)

			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			gotTrace, hasTrace := line[LogTraceIDKey]
			gotSpan, hasSpan := line[LogSpanIDKey]
			if tt.wantIDs {
				if gotTrace != wantTrace || gotSpan != wantSpan {
					t.Errorf("trace_id=%v span_id=%v, want %s %s in %s", gotTrace, gotSpan, wantTrace, wantSpan, buf.String())
				}
			} else if hasTrace || hasSpan {
				t.Errorf("log line has trace ids without a span: %s", buf.String())
			}
			if tt.wantGroup != nil {
				group, _ := line["event"].(map[string]any)
				for k, v := range tt.wantGroup {
					if group[k] != v {
						t.Errorf("event.%s = %v, want %v in %s", k, group[k], v, buf.String())
					}
				}
			}
		})
	}
}

func TestLogHandlerHonoursLevel(t *testing.T) {
	var buf bytes.Buffer
	handler := NewLogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if handler.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled(info) = true under a warn-level inner handler")
	}
	if !handler.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled(error) = false under a warn-level inner handler")
	}
}

func TestLogHandlerConformsToSlog(t *testing.T) {
	var buf bytes.Buffer
	newHandler := func(*testing.T) slog.Handler {
		buf.Reset()
		return NewLogHandler(slog.NewJSONHandler(&buf, nil))
	}
	result := func(t *testing.T) map[string]any {
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", buf.String(), err)
		}
		return line
	}
	slogtest.Run(t, newHandler, result)
}
