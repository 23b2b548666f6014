// Command chaos runs the bridge's chaos test: real collector, dispatcher,
// double and redis-server processes on loopback, a seeded scenario of
// calls published through the SAPI double, processes killed and
// restarted, Regal failing, and a report comparing what Regal received
// with the ground truth. It exits 1 when an event was lost, an
// interaction arrived out of order, Regal received an event it should
// not have, or the bridge did not settle; 2 when the run could not be
// carried out.
//
//	go run ./cmd/chaos                  # the full run (about 100,000 SAPI events)
//	go run ./cmd/chaos -calls 2000 -publish-for 1m -collector-kills 2
//
// Every child process is killed when the run ends, fails or is
// interrupted (Ctrl-C).
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
	"path/filepath"
	"syscall"

	"github.com/ccbridge/bridge/test/chaos"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o, jsonPath, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	o.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := run(ctx, o)
	if err != nil {
		logger.Error("chaos run could not be carried out", "err", err)
		os.Exit(2)
	}
	report.WriteText(os.Stdout)
	if err := report.WriteJSON(os.Stdout); err != nil {
		logger.Error("writing the JSON report", "err", err)
	}
	if jsonPath == "" {
		jsonPath = filepath.Join(report.Dir, "report.json")
	}
	if err := writeJSON(jsonPath, report); err != nil {
		logger.Error("writing the JSON report", "err", err)
	}
	fmt.Println("JSON report written to", jsonPath)
	if report.Failed() {
		os.Exit(1)
	}
}

// run starts the harness, runs it and stops every process, whatever
// happens.
func run(ctx context.Context, o chaos.Options) (*chaos.Report, error) {
	h, err := chaos.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Run(ctx)
}

// parseFlags reads the command line over chaos.FullOptions.
func parseFlags(args []string, output io.Writer) (chaos.Options, string, error) {
	o := chaos.FullOptions()
	var jsonPath string
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Int64Var(&o.Seed, "seed", o.Seed, "seed of the scenario, the repeated lines and the fault plan")
	fs.IntVar(&o.Calls, "calls", o.Calls, "scripted calls (about 7 SAPI events each)")
	fs.IntVar(&o.Wave, "wave", o.Wave, "calls interleaved together")
	fs.IntVar(&o.Dispatchers, "dispatchers", o.Dispatchers, "dispatcher processes")
	fs.DurationVar(&o.PublishFor, "publish-for", o.PublishFor, "time to publish every event (sets the pace)")
	fs.IntVar(&o.ChunkLines, "chunk", o.ChunkLines, "lines per publish request")
	fs.Float64Var(&o.RepeatRate, "repeat-rate", o.RepeatRate, "probability of a repeated (duplicate) line after each event")
	fs.IntVar(&o.ReplayLast, "replay-last", o.ReplayLast, "events the SAPI double re-sends to a reconnecting collector")
	fs.IntVar(&o.CollectorKills, "collector-kills", o.CollectorKills, "collector SIGKILLs (each restarted)")
	fs.IntVar(&o.DispatcherKills, "dispatcher-kills", o.DispatcherKills, "dispatcher SIGKILLs (each restarted)")
	fs.IntVar(&o.RedisRestarts, "redis-restarts", o.RedisRestarts, "Redis SIGKILLs (each restarted on the same port and data)")
	fs.IntVar(&o.RateLimitBursts, "429-bursts", o.RateLimitBursts, "periods of a few seconds with Regal rate-limiting hard")
	fs.IntVar(&o.SAPICuts, "sapi-cuts", o.SAPICuts, "SAPI stream cuts")
	fs.IntVar(&o.SAPIFailovers, "sapi-failovers", o.SAPIFailovers, "SAPI failovers (the last chunk re-sent under a new instance)")
	fs.DurationVar(&o.RegalOutage, "regal-outage", o.RegalOutage, "length of the Regal outage (0 = none)")
	fs.Float64Var(&o.RegalErrorRate, "regal-error-rate", o.RegalErrorRate, "share of Regal requests answered 503 throughout")
	fs.Float64Var(&o.BurstRateLimit, "burst-rate-limit", o.BurstRateLimit, "Regal's requests per second during a 429 burst")
	fs.IntVar(&o.Delivery.RegalMaxAttempts, "regal-max-attempts", o.Delivery.RegalMaxAttempts, "dispatcher.regal.max_attempts: attempts per delivery")
	fs.IntVar(&o.Delivery.SchedulerMaxAttempts, "scheduler-max-attempts", o.Delivery.SchedulerMaxAttempts, "collector.scheduler.max_attempts: attempts per event before it is dead-lettered")
	fs.DurationVar(&o.Delivery.RegalBackoffMax, "regal-backoff-max", o.Delivery.RegalBackoffMax, "dispatcher.regal.backoff_max")
	fs.Float64Var(&o.Delivery.RegalRateLimit, "regal-rate-limit", o.Delivery.RegalRateLimit, "dispatcher.regal.rate_limit: requests per second all dispatchers allow themselves (0 = off)")
	fs.DurationVar(&o.Delivery.StreamMaxAge, "stream-max-age", o.Delivery.StreamMaxAge, "collector.stream_max_age: delivery streams rotate this often")
	fs.DurationVar(&o.SettleTimeout, "settle-timeout", o.SettleTimeout, "longest wait for the bridge to settle after publishing")
	fs.DurationVar(&o.DuplicateWindow, "duplicate-window", o.DuplicateWindow, "how soon after a copy a kill explains a duplicate")
	fs.StringVar(&o.Dir, "dir", "", "run directory (default: a new temporary directory, kept)")
	fs.StringVar(&o.BinDir, "bin-dir", "", "prebuilt collector, dispatcher, sapi-double and regal-double (default: build them)")
	fs.StringVar(&jsonPath, "json", "", "write the JSON report here (default: report.json in the run directory)")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %v", fs.Args())
		fmt.Fprintln(output, err)
		return o, "", err
	}
	return o, jsonPath, nil
}

// writeJSON writes the report as JSON to path.
func writeJSON(path string, r *chaos.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(r.WriteJSON(f), f.Close())
}
