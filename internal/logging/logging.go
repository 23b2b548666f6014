// Package logging builds the services' structured JSON logger.
package logging

import (
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
