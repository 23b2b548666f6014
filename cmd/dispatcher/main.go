// Command dispatcher takes events from the collector, translates them into
// Regal custom events and sends them to Regal. Run as many as load needs.
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

	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/logging"
	"github.com/ccbridge/bridge/internal/process"
	"github.com/ccbridge/bridge/internal/telemetry"
)

func main() {
	os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
}

// command runs a dispatcher with args and returns its exit status: with
// -check-config it only checks the configuration file.
func command(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dispatcher", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", process.EnvOr("CCB_CONFIG", "bridge.yaml"), "configuration file (env CCB_CONFIG)")
	id := fs.String("id", os.Getenv("CCB_DISPATCHER_ID"), "dispatcher id (env CCB_DISPATCHER_ID; default host-pid)")
	metricsListen := fs.String("metrics-listen", os.Getenv("CCB_METRICS_LISTEN"), "address of /metrics (env CCB_METRICS_LISTEN; default from the config)")
	check := fs.Bool("check-config", false, "load and validate the configuration file, print the result and exit (starts nothing, connects nowhere, prints no value)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *check {
		return checkConfig(*path, *metricsListen, stdout, stderr)
	}
	if err := run(*path, *id, *metricsListen); err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	return 0
}

// checkConfig checks the file as run would load it, with the
// -metrics-listen override (config.Check).
func checkConfig(path, metricsListen string, stdout, stderr io.Writer) int {
	return config.Check(path, func(cfg *config.Config) {
		if metricsListen != "" {
			cfg.Dispatcher.MetricsListen = metricsListen
		}
	}, (*config.Config).ValidateDispatcher, stdout, stderr)
}

func run(path, id, metricsListen string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if id != "" {
		cfg.Dispatcher.ID = id
	}
	if cfg.Dispatcher.ID == "" {
		cfg.Dispatcher.ID = dispatcher.DefaultID()
	}
	if metricsListen != "" {
		cfg.Dispatcher.MetricsListen = metricsListen
	}
	process.SetMemProfiling(cfg.Telemetry.Pprof)
	logger := logging.New(os.Stderr, cfg.Log.Level, "dispatcher")
	stopProfile, err := process.StartCPUProfile("dispatcher")
	if err != nil {
		return err
	}
	defer stopProfile()
	redis.SetLogger(logging.RedisLogger(logger))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "dispatcher", ServiceVersion: process.Version, InstanceID: cfg.Dispatcher.ID})
	if err != nil {
		return err
	}
	defer process.Flush(tel)
	d, err := dispatcher.New(cfg, logger, tel)
	if err != nil {
		return err
	}
	// Bounded, so that the process exits within its grace whatever state
	// the dispatcher is in (even connecting to a collector it cannot reach).
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Dispatcher.ShutdownGrace+5*time.Second)
		defer cancel()
		return d.Shutdown(sctx)
	}
	metrics, err := telemetry.ServeMetrics(cfg.Dispatcher.MetricsListen, tel, logger, telemetry.MetricsOptions{
		Pprof: cfg.Telemetry.Pprof, Readiness: d.Readiness()})
	if err != nil {
		_ = shutdown()
		return err
	}
	defer func() { _ = metrics.Shutdown(context.Background()) }()
	if err := d.Start(ctx); err != nil {
		_ = shutdown()
		return err
	}
	logger.Info("dispatcher running", "id", d.ID())
	<-ctx.Done()
	logger.Info("stopping")
	return shutdown()
}
