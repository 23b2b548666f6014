package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Options shape a bench run.
type Options struct {
	// Events is the number of SAPI lines published.
	Events int
	// Rate is the SAPI lines published per second; 0 publishes as fast as
	// the SAPI double takes them.
	Rate float64
	// Dispatchers is the number of dispatcher processes.
	Dispatchers int
	// RegalLatency is how long the Regal double takes to answer each
	// request, in the pipeline and in the ceiling alike.
	RegalLatency time.Duration
	// MaxInFlight is each dispatcher's dispatcher.max_in_flight: the Regal
	// requests one dispatcher has open at once.
	MaxInFlight int
	// Prefetch is each dispatcher's dispatcher.prefetch: the events sent
	// ahead of those slots, waiting for a free one.
	Prefetch int
	// RedisFsync is Redis's appendfsync, "always" (as deployed) or
	// "everysec".
	RedisFsync string
	// TimelineRedis keeps the collector's timeline in a Redis of its own
	// (appendfsync everysec), as deployed (docs/architecture.md › Redis settings); false
	// keeps it in the one Redis with the events.
	TimelineRedis bool
	// Tracing keeps span creation on in the collector and the dispatchers
	// (spans are never exported); false turns the sampler off.
	Tracing bool
	// Seed drives the scripted calls.
	Seed int64
	// CeilingFor is how long the ceiling's load generator runs, with
	// CeilingConcurrency requests in flight; 0 is as many as the
	// dispatchers together may have in flight (dispatcher.max_in_flight
	// each).
	CeilingFor         time.Duration
	CeilingConcurrency int
	// CompleteTimeout bounds the wait, after the last publish, for Regal
	// to accept every event it must receive.
	CompleteTimeout time.Duration
	// ProgressEvery prints one progress line (published, accepted, RSS per
	// process) to Progress at this interval; 0 prints none.
	ProgressEvery time.Duration
	Progress      io.Writer
	// Dir is the run directory (logs, Redis data, configuration); it must
	// be new or empty; empty makes a temporary one, kept after the run.
	Dir string
	// BinDir holds prebuilt binaries; empty builds them into Dir/bin.
	BinDir string
	// BridgeEnv is added to the collector's and dispatchers' environment
	// ("NAME=value"), e.g. GOMEMLIMIT for a memory budget.
	BridgeEnv []string
	// GOMAXPROCS, when positive, is every child's GOMAXPROCS (the bridge's
	// processes and both doubles; Redis is single-threaded anyway). The
	// bench puts seven processes on one machine's cores; a Go process
	// with as many threads as cores then wakes threads that wait for a
	// core behind its neighbours. 1 is also what a container limited to
	// one CPU gets (Go derives GOMAXPROCS from the limit).
	GOMAXPROCS int
	// Pprof serves /debug/pprof/ on the collector's and dispatchers'
	// metrics addresses (off by default, as deployed).
	Pprof bool
	// CPUProfileDir, when set, makes the collector and each dispatcher
	// write a CPU profile there (<service>-<pid>.pprof) covering their
	// start and the load; the bridge is stopped before the ceiling runs.
	CPUProfileDir string
	// StallCollectorFor, when positive, stops the collector (SIGSTOP) for
	// that long, StallCollectorAt after the first publish, then continues
	// it: a host that starves it for a while. The lines published
	// meanwhile wait in the SAPI double and arrive at full speed after it,
	// the burst whose memory a soak's RSS trend must give back.
	StallCollectorAt, StallCollectorFor time.Duration
	// Logger receives the harness's progress; nil discards it.
	Logger *slog.Logger
}

// DefaultOptions is 20,000 lines at full speed through 2 dispatchers of
// 128 requests in flight each, an instant Regal, Redis fsyncing every
// write and the timeline in a Redis of its own (as deployed), tracing on,
// every Go process at GOMAXPROCS 1 (as in a one-CPU container), and a
// 5-second ceiling with as many requests in flight as the dispatchers
// allow themselves.
func DefaultOptions() Options {
	return Options{
		Events: 20000, Dispatchers: 2, MaxInFlight: 128, Prefetch: 32, RedisFsync: "always", TimelineRedis: true, Tracing: true, Seed: 1,
		GOMAXPROCS:      1,
		CeilingFor:      5 * time.Second,
		CompleteTimeout: 5 * time.Minute,
	}
}

// validate reports options a run cannot use.
func (o Options) validate() error {
	var errs []error
	if o.Events <= 0 {
		errs = append(errs, errors.New("events must be positive"))
	}
	if o.Rate < 0 {
		errs = append(errs, errors.New("rate cannot be negative"))
	}
	if o.GOMAXPROCS < 0 {
		errs = append(errs, errors.New("GOMAXPROCS cannot be negative"))
	}
	if o.Dispatchers <= 0 {
		errs = append(errs, errors.New("at least one dispatcher is required"))
	}
	if o.MaxInFlight <= 0 {
		errs = append(errs, errors.New("max in flight must be positive"))
	}
	if o.Prefetch < 0 {
		errs = append(errs, errors.New("prefetch must not be negative"))
	}
	if o.RedisFsync != "always" && o.RedisFsync != "everysec" {
		errs = append(errs, fmt.Errorf("redis fsync must be always or everysec, got %q", o.RedisFsync))
	}
	if o.StallCollectorAt < 0 || o.StallCollectorFor < 0 {
		errs = append(errs, errors.New("the collector's stall cannot start or last a negative time"))
	}
	if o.RegalLatency < 0 {
		errs = append(errs, errors.New("regal latency cannot be negative"))
	}
	if o.CeilingFor <= 0 || o.CeilingConcurrency < 0 {
		errs = append(errs, errors.New("the ceiling needs a positive duration and a concurrency of 0 or more"))
	}
	if o.CompleteTimeout <= 0 {
		errs = append(errs, errors.New("the completion timeout must be positive"))
	}
	if o.ProgressEvery > 0 && o.Progress == nil {
		errs = append(errs, errors.New("progress lines need a writer"))
	}
	return errors.Join(errs...)
}
