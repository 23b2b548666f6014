// Package logging builds the services' structured JSON logger.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ccbridge/bridge/internal/telemetry"
)

// New returns a JSON logger at the named level (debug, info, warn, error)
// tagged with the service name. Records made with a traced context carry
// trace_id and span_id, so a log line leads to its trace.
func New(w io.Writer, level, service string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	h := telemetry.NewLogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
	return slog.New(h).With("service", service)
}

// RedisLogger adapts logger for the Redis client's internal messages
// (redis.SetLogger), so they are JSON lines like every other.
func RedisLogger(logger *slog.Logger) interface {
	Printf(ctx context.Context, format string, v ...any)
} {
	return redisLogger{logger.With("component", "redis-client")}
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...))
}
