// Command dispatcher takes events from the collector, translates them into
// Regal custom events and sends them to Regal. Run as many as load needs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/logging"
)

func main() {
	path := flag.String("config", envOr("CCB_CONFIG", "bridge.yaml"), "configuration file (env CCB_CONFIG)")
	id := flag.String("id", os.Getenv("CCB_DISPATCHER_ID"), "dispatcher id (env CCB_DISPATCHER_ID; default host-pid)")
	flag.Parse()
	if err := run(*path, *id); err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher:", err)
		os.Exit(1)
	}
}

func run(path, id string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if id != "" {
		cfg.Dispatcher.ID = id
	}
	logger := logging.New(os.Stderr, cfg.Log.Level, "dispatcher")
	d, err := dispatcher.New(cfg, logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := d.Start(ctx); err != nil {
		return err
	}
	logger.Info("dispatcher running", "id", d.ID())
	<-ctx.Done()
	logger.Info("stopping")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Dispatcher.ShutdownGrace+5*time.Second)
	defer cancel()
	return d.Shutdown(sctx)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
