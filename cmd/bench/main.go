// Command bench runs the bridge's load harness (test/bench): the real
// collector, dispatchers, redis-server and both doubles on 127.0.0.1,
// then prints one report and, with -json, writes a copy for comparison
// between commits.
//
//	go run ./cmd/bench -events 20000 -dispatchers 2 -json bench.json
//	go run ./cmd/bench -events 1800000 -rate 1000 -progress 1m -timeout 10m   # 30-minute soak
//	go run ./cmd/bench -regal-latency 20ms -max-in-flight 8 -sweep-dispatchers 1,4   # scaling out
//
// Interrupted (Ctrl-C, SIGTERM), it stops every child before exiting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/ccbridge/bridge/test/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run parses args, runs the bench until done or interrupted (every child
// is stopped either way) and prints the report to stdout.
func run(args []string, stdout, stderr io.Writer) error {
	o := bench.DefaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Events, "events", o.Events, "SAPI lines to publish")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "SAPI lines per second; 0 = full speed")
	fs.IntVar(&o.Dispatchers, "dispatchers", o.Dispatchers, "dispatcher processes")
	fs.IntVar(&o.MaxInFlight, "max-in-flight", o.MaxInFlight, "each dispatcher's max_in_flight (Regal requests open at once)")
	fs.IntVar(&o.Prefetch, "prefetch", o.Prefetch, "each dispatcher's prefetch (events sent ahead, waiting for a free slot; 0 = none)")
	fs.StringVar(&o.RedisFsync, "redis-fsync", o.RedisFsync, "Redis appendfsync: always (as deployed) or everysec")
	fs.BoolVar(&o.TimelineRedis, "timeline-redis", o.TimelineRedis, "keep the collector's timeline in a Redis of its own (appendfsync everysec), as deployed; false: in the one Redis")
	fs.DurationVar(&o.RegalLatency, "regal-latency", o.RegalLatency, "Regal double's answer latency")
	fs.BoolVar(&o.Tracing, "tracing", o.Tracing, "create spans in the collector and dispatchers (never exported)")
	fs.Int64Var(&o.Seed, "seed", o.Seed, "seed of the scripted calls")
	fs.DurationVar(&o.CeilingFor, "ceiling-for", o.CeilingFor, "how long the ceiling's load generator runs")
	fs.IntVar(&o.CeilingConcurrency, "ceiling-concurrency", o.CeilingConcurrency, "the ceiling's requests in flight (0 = dispatchers × their max_in_flight)")
	fs.DurationVar(&o.CompleteTimeout, "timeout", o.CompleteTimeout, "how long to wait, after publishing, for Regal to accept everything")
	fs.DurationVar(&o.ProgressEvery, "progress", 0, "print published, accepted and RSS per process at this interval (0 = never)")
	fs.Func("bridge-env", "NAME=value added to the collector's and dispatchers' environment (repeatable), e.g. GOMEMLIMIT=40MiB", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want NAME=value, got %q", v)
		}
		o.BridgeEnv = append(o.BridgeEnv, v)
		return nil
	})
	fs.IntVar(&o.GOMAXPROCS, "gomaxprocs", o.GOMAXPROCS, "GOMAXPROCS of the collector, the dispatchers and both doubles (0 = Go's default: one per core)")
	fs.BoolVar(&o.Pprof, "pprof", false, "serve /debug/pprof/ on the collector's and dispatchers' metrics addresses (telemetry.pprof)")
	fs.StringVar(&o.CPUProfileDir, "cpuprofile", "", "write the collector's and each dispatcher's CPU profile into this directory (go tool pprof <file>)")
	fs.DurationVar(&o.StallCollectorAt, "stall-collector-at", 0, "stop the collector (SIGSTOP) this long after the first publish (with -stall-collector-for)")
	fs.DurationVar(&o.StallCollectorFor, "stall-collector-for", 0, "how long the collector stays stopped; the lines published meanwhile then arrive at full speed (0 = no stall)")
	sweep := fs.String("sweep-dispatchers", "", "run once per dispatcher count (e.g. 1,4) and print the throughput growth")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.Dir, "dir", "", "run directory, new or empty (default: a new temporary directory)")
	fs.StringVar(&o.BinDir, "bin", "", "directory with prebuilt collector, dispatcher, sapi-double, regal-double (default: build them)")
	verbose := fs.Bool("v", false, "log the harness's progress to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.Progress = stdout
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *sweep != "" {
		counts, err := parseCounts(*sweep)
		if err != nil {
			return err
		}
		return runSweep(ctx, o, counts, *jsonPath, stdout)
	}
	report, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if err := report.WriteText(stdout); err != nil {
		return err
	}
	if *jsonPath != "" {
		return report.WriteJSON(*jsonPath)
	}
	return nil
}

// runSweep runs the bench once per dispatcher count and prints every
// report, then the growth summary.
func runSweep(ctx context.Context, o bench.Options, counts []int, jsonPath string, stdout io.Writer) error {
	reports, err := bench.Sweep(ctx, o, counts)
	for _, r := range reports {
		if werr := r.WriteText(stdout); werr != nil {
			return werr
		}
		fmt.Fprintln(stdout)
	}
	if err != nil {
		return err
	}
	if err := bench.WriteSweepSummary(stdout, reports); err != nil {
		return err
	}
	if jsonPath != "" {
		return bench.WriteSweepJSON(jsonPath, reports)
	}
	return nil
}

// parseCounts reads a comma-separated list of positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-sweep-dispatchers: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}
