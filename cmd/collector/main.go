// Command collector reads the 8x8 SAPI stream of every configured tenant,
// deduplicates events in Redis and streams them to dispatchers over gRPC.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/logging"
	"github.com/ccbridge/bridge/internal/process"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// gcPercent is the collector's GOGC unless the environment sets one. Its
// heap is mostly caches of recent interactions that stay live, so the
// default 100 % growth doubles it: at 40 % the collector stays within a
// 64 MiB RSS at 1,000 events/s for no measurable CPU (docs/adr/0004-
// gogc-40-for-the-collector.md).
const gcPercent = 40

func main() {
	os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
}

// command runs the collector with args and returns its exit status: with
// -check-config it only checks the configuration file.
func command(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", process.EnvOr("CCB_CONFIG", "bridge.yaml"), "configuration file (env CCB_CONFIG)")
	check := fs.Bool("check-config", false, "load and validate the configuration file, print the result and exit (starts nothing, connects nowhere, prints no value)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *check {
		return checkConfig(*path, stdout, stderr)
	}
	process.SetDefaultGCPercent(gcPercent)
	if err := run(*path); err != nil {
		fmt.Fprintln(stderr, "collector:", err)
		return 1
	}
	return 0
}

// checkConfig checks the file as run would load it (config.Check).
func checkConfig(path string, stdout, stderr io.Writer) int {
	return config.Check(path, nil, (*config.Config).ValidateCollector, stdout, stderr)
}

func run(path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	process.SetMemProfiling(cfg.Telemetry.Pprof)
	logger := logging.New(os.Stderr, cfg.Log.Level, "collector")
	stopProfile, err := process.StartCPUProfile("collector")
	if err != nil {
		return err
	}
	defer stopProfile()
	redis.SetLogger(logging.RedisLogger(logger))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	host, _ := os.Hostname()
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "collector", ServiceVersion: process.Version, InstanceID: host})
	if err != nil {
		return err
	}
	defer process.Flush(tel)
	c, err := collector.New(cfg, logger, tel)
	if err != nil {
		return err
	}
	// Bounded, so that the process exits whatever state the collector is in.
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return c.Shutdown(sctx)
	}
	metrics, err := telemetry.ServeMetrics(cfg.Collector.MetricsListen, tel, logger, telemetry.MetricsOptions{
		Pprof: cfg.Telemetry.Pprof, Liveness: c.Liveness(), Readiness: c.Readiness()})
	if err != nil {
		_ = shutdown()
		return err
	}
	defer func() { _ = metrics.Shutdown(context.Background()) }()
	if err := c.Start(ctx); err != nil {
		_ = shutdown()
		return err
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping")
		return shutdown()
	case <-c.Lost():
		// Serving the tenant again needs its lease, its fences raised and
		// its unsettled events recovered: what a start does.
		logger.Error("a tenant's lease was lost: exiting so that a restart takes it back")
		if err := shutdown(); err != nil {
			logger.Error("shutdown", "err", err)
		}
		return errLeaseLost
	}
}

// errLeaseLost ends the process with a failure status, so that its
// supervisor (Kubernetes, systemd) restarts it.
var errLeaseLost = errors.New("a tenant's lease was lost; restart the collector to serve it again")

// shutdownTimeout bounds the collector's shutdown: dispatchers settle what
// they hold within it; whatever is left is delivered again after restart.
const shutdownTimeout = 30 * time.Second
