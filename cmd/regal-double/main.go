// Command regal-double runs the Regal events API double on a local
// address for demos and manual tests. The accepted API keys come from the
// environment variable REGAL_DOUBLE_API_KEY (several keys separated by
// commas). Each accepted event is logged on one line with phone numbers
// masked.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

// apiKeyEnv names the environment variable holding the accepted keys.
const apiKeyEnv = "REGAL_DOUBLE_API_KEY"

func main() {
	addr := flag.String("addr", regaldouble.DefaultAddr, "TCP address to listen on")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, logger); err != nil {
		logger.Error("regal-double stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM.
func run(addr string, logger *slog.Logger) error {
	keys := apiKeys(os.Getenv(apiKeyEnv))
	if len(keys) == 0 {
		return fmt.Errorf("%s is not set", apiKeyEnv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := regaldouble.New(regaldouble.Config{Addr: addr, APIKeys: keys}, logger)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	logger.Info("regal-double listening", "url", srv.URL(), "events_url", srv.URL()+"/events", "api_keys", len(keys))
	<-ctx.Done()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// apiKeys splits a comma-separated list of keys, dropping empty items.
func apiKeys(list string) []secret.Secret {
	var keys []secret.Secret
	for item := range strings.SplitSeq(list, ",") {
		if item = strings.TrimSpace(item); item != "" {
			keys = append(keys, secret.Secret(item))
		}
	}
	return keys
}
