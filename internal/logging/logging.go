// Package logging builds the services' structured JSON logger.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger at the named level (debug, info, warn, error)
// tagged with the service name.
func New(w io.Writer, level, service string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})).With("service", service)
}
