// Package process holds what the services' main functions share: reading
// defaults from the environment, flushing telemetry at exit and the
// optional CPU profile.
package process

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
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

// CPUProfileDirEnv names the environment variable that makes a service
// write a CPU profile of its whole life: set it to a directory and the
// service writes <dir>/<service>-<pid>.pprof when it stops gracefully. The
// load harness uses it (bench -cpuprofile); telemetry.pprof serves live
// profiles instead.
const CPUProfileDirEnv = "CCB_CPUPROFILE_DIR"

// StartCPUProfile starts the CPU profile CPUProfileDirEnv asks for, if
// any, and returns the function that stops and writes it (a no-op when
// none was asked for).
func StartCPUProfile(service string) (stop func(), err error) {
	dir := os.Getenv(CPUProfileDirEnv)
	if dir == "" {
		return func() {}, nil
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", service, os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// SetDefaultGCPercent sets the garbage collector's target heap growth
// (GOGC) to pct, unless the GOGC environment variable sets it.
func SetDefaultGCPercent(pct int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(pct)
	}
}

// SetMemProfiling turns the runtime's heap profile sampling off unless a
// heap profile can be read (telemetry.pprof): off, the runtime keeps no
// sampled allocation records (about 1.5 MiB of a service's memory, and a
// little work per sampled allocation). Call it first thing in main.
func SetMemProfiling(on bool) {
	if !on {
		runtime.MemProfileRate = 0
	}
}
