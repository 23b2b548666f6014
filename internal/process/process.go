// Package process holds what the services' main functions share: reading
// defaults from the environment and flushing telemetry at exit.
package process

import (
	"context"
	"os"
	"time"

	"github.com/ccbridge/bridge/internal/telemetry"
)

// Version is set at build time with -ldflags "-X github.com/ccbridge/bridge/internal/process.Version=…".
var Version = "dev"

// EnvOr returns the environment variable k, or def when it is empty.
func EnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Flush sends the last spans before the process exits, waiting at most 5 s.
func Flush(tel *telemetry.Telemetry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tel.Shutdown(ctx)
}
