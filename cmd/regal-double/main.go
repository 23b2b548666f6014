// Command regal-double runs the Regal events API double on a local
// address for demos, manual tests and chaos tests. The accepted API keys
// come from the environment variable REGAL_DOUBLE_API_KEY (several keys
// separated by commas), so they do not show in process listings. Each
// accepted event is logged on one line with phone numbers masked.
//
//	REGAL_DOUBLE_API_KEY=rk_test regal-double -rate-limit 300 -error-rate 0.1 \
//	    -latency 20ms -control -addr-file /tmp/regal.url
//
// With -control, another process steers the double over HTTP under
// /_double/ (see package regaldouble). It runs until SIGINT or SIGTERM.
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
	"strings"
	"syscall"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

// apiKeyEnv names the environment variable holding the accepted keys.
const apiKeyEnv = "REGAL_DOUBLE_API_KEY"

// options is the parsed command line.
type options struct {
	cfg regaldouble.Config
	// addrFile, when set, receives the listening URL once listening.
	addrFile string
	// outage starts the double in an outage without an end.
	outage bool
	// outageFor starts the double in an outage that ends by itself.
	outageFor time.Duration
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	opts.cfg.APIKeys = apiKeys(os.Getenv(apiKeyEnv))
	if len(opts.cfg.APIKeys) == 0 {
		logger.Error("regal-double cannot start", "error", apiKeyEnv+" is not set")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, logger); err != nil {
		logger.Error("regal-double stopped", "error", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line; usage and errors go to output.
func parseFlags(args []string, output io.Writer) (options, error) {
	var o options
	slow := slowPhones{}
	fs := flag.NewFlagSet("regal-double", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&o.cfg.Addr, "addr", regaldouble.DefaultAddr, "TCP address to listen on")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the listening URL to this file once listening")
	fs.BoolVar(&o.cfg.Control, "control", false, "serve the control endpoint under /_double/ (no authentication)")
	fs.Float64Var(&o.cfg.RateLimit, "rate-limit", 0, "requests per second per API key, answered 429 above it (0 = off)")
	fs.IntVar(&o.cfg.RateBurst, "rate-burst", 0, "requests per API key allowed at once (0 = a tenth of a second's worth, at least 1)")
	fs.StringVar(&o.cfg.RateLimitRetryAfter, "rate-limit-retry-after", "", "Retry-After header of 429 answers (empty = none, as Regal)")
	fs.Float64Var(&o.cfg.ErrorRate, "error-rate", 0, "fraction (0-1) of valid requests answered with -error-status")
	fs.IntVar(&o.cfg.ErrorStatus, "error-status", regaldouble.DefaultErrorStatus, "5xx status of -error-rate answers")
	fs.Uint64Var(&o.cfg.Seed, "seed", 1, "seed of the -error-rate draw")
	fs.DurationVar(&o.cfg.Latency, "latency", 0, "added to every answer")
	fs.Var(slow, "slow-phone", "E.164=duration: hold back answers to events naming this phone (repeatable)")
	fs.BoolVar(&o.outage, "outage", false, "start in an outage (every request 503) until ended through -control")
	fs.DurationVar(&o.outageFor, "outage-for", 0, "start in an outage that ends after this long")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
		fmt.Fprintln(output, err)
		return options{}, err
	}
	if len(slow) > 0 {
		o.cfg.SlowPhones = slow
	}
	return o, nil
}

// run serves until ctx ends, then shuts down.
func run(ctx context.Context, o options, logger *slog.Logger) error {
	srv := regaldouble.New(o.cfg, logger)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if o.outage {
		srv.SetOutage(true)
	}
	if o.outageFor > 0 {
		srv.OutageFor(o.outageFor)
	}
	err := writeAddrFile(o.addrFile, srv.URL())
	if err == nil {
		logger.Info("regal-double listening", "url", srv.URL(), "events_url", srv.URL()+"/events",
			"api_keys", len(o.cfg.APIKeys), "control", o.cfg.Control)
		<-ctx.Done()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, srv.Shutdown(shutdownCtx))
}

// writeAddrFile writes url and a newline to path, through a temporary
// file renamed into place so a reader never sees a partial URL. An empty
// path writes nothing.
func writeAddrFile(path, url string) error {
	if path == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("addr file: %w", err)
	}
	_, err = tmp.WriteString(url + "\n")
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("addr file: %w", err)
	}
	return nil
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
