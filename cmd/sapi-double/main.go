// Command sapi-double runs the 8x8 SAPI double with a scripted mix of
// realistic call flows, for demos and manual runs of the collector.
//
//	SAPI_DOUBLE_TOKEN=secret sapi-double -tenant acmecorp01 -calls 20 -interval 500ms
//
// Subscribers may use HTTP streaming or, with X-Atmosphere-Transport=websocket
// on a ws:// URL, WebSocket. It waits for a subscriber, plays the calls'
// events interleaved, and with -repeat plays a new mix each round until
// interrupted. With -calls 0 it
// plays nothing: events then come through the control API (-control), as
// when another process drives the double; faults that happen at a moment
// (reset, stall, token rotation) are injected through it too:
//
//	SAPI_DOUBLE_TOKEN=secret sapi-double -listen 127.0.0.1:0 -addr-file url.txt -control -calls 0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/secret"
)

// tokenEnv names the variable holding the token, kept out of flags so it
// does not show in process listings.
const tokenEnv = "SAPI_DOUBLE_TOKEN"

type options struct {
	listen        string
	tenant        string
	user          string
	calls         int
	seed          int64
	interval      time.Duration
	repeat        bool
	duplicateRate float64
	replayLast    int
	heartbeat     time.Duration
	sessionTTL    time.Duration
	padding       bool
	splitChunks   bool
	control       bool
	addrFile      string
	atmoProtocol  bool
	idleHeartbeat string
	idleInterval  time.Duration
	reorder       float64
	dropOptional  float64
	idle          sapidouble.IdleHeartbeat // parsed -idle-heartbeat
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("sapi-double failed", "error", err)
		os.Exit(1)
	}
}

// parseOptions reads the command line (without the program name) and
// checks it.
func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("sapi-double", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8088", "listen address")
	fs.StringVar(&o.tenant, "tenant", "acmecorp01", "tenant name")
	fs.StringVar(&o.user, "user", "", "Basic auth username (default: the tenant)")
	fs.IntVar(&o.calls, "calls", 20, "calls per round (0 = play nothing; publish through -control)")
	fs.Int64Var(&o.seed, "seed", 1, "scenario seed")
	fs.DurationVar(&o.interval, "interval", 500*time.Millisecond, "pause between events")
	fs.BoolVar(&o.repeat, "repeat", false, "play a new mix every round until interrupted")
	fs.Float64Var(&o.duplicateRate, "duplicate-rate", 0, "probability (0-1) of re-sending an event after a simulated failover")
	fs.IntVar(&o.replayLast, "replay-last", 0, "events re-sent to a reconnecting subscriber (at-least-once replay)")
	fs.DurationVar(&o.heartbeat, "heartbeat", 30*time.Second, "ClientCheck interval (0 = off)")
	fs.DurationVar(&o.sessionTTL, "session-ttl", 60*time.Minute, "stream lifetime before the server cuts it")
	fs.BoolVar(&o.padding, "padding", true, "write Atmosphere's 2048-space padding first")
	fs.BoolVar(&o.splitChunks, "split-chunks", true, "split and coalesce events across writes")
	fs.BoolVar(&o.control, "control", false, "serve the control API under "+sapidouble.ControlPrefix+" (no authentication: loopback only)")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the base URL to this file once listening (for a -listen port of 0)")
	fs.BoolVar(&o.atmoProtocol, "atmosphere-protocol", false, "answer X-atmo-protocol=true&X-Atmosphere-tracking-id=0 with the <uuid>|<ms>|<padding>| handshake")
	fs.StringVar(&o.idleHeartbeat, "idle-heartbeat", "off", "padding written to idle streams: off, x or space")
	fs.DurationVar(&o.idleInterval, "idle-heartbeat-interval", 60*time.Second, "idle time before the idle padding")
	fs.Float64Var(&o.reorder, "reorder", 0, "probability (0-1) of swapping adjacent events")
	fs.Float64Var(&o.dropOptional, "drop-optional", 0, "probability (0-1) of dropping optional events (Unqueued, ParticipantChange, EndPostProcess, LineHoldStatus, ...)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if o.calls < 0 {
		return options{}, fmt.Errorf("-calls must be 0 or more, got %d", o.calls)
	}
	idle, err := sapidouble.ParseIdleHeartbeat(o.idleHeartbeat)
	if err != nil {
		return options{}, fmt.Errorf("-idle-heartbeat: %w", err)
	}
	for name, p := range map[string]float64{"-reorder": o.reorder, "-drop-optional": o.dropOptional} {
		if p < 0 || p > 1 {
			return options{}, fmt.Errorf("%s must be between 0 and 1, got %g", name, p)
		}
	}
	o.idle = idle
	return o, nil
}

func run(logger *slog.Logger) error {
	o, err := parseOptions(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	token := secret.Secret(os.Getenv(tokenEnv))
	if token.IsZero() {
		return fmt.Errorf("set %s to the token subscribers must send", tokenEnv)
	}
	if o.user == "" {
		o.user = o.tenant
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := sapidouble.New(sapidouble.Config{
		Addr:                  o.listen,
		Tenants:               map[string]sapidouble.Credentials{o.tenant: {Username: o.user, Token: token}},
		HeartbeatInterval:     o.heartbeat,
		SessionTTL:            o.sessionTTL,
		Padding:               o.padding,
		SplitChunks:           o.splitChunks,
		Seed:                  o.seed,
		ReplayLast:            o.replayLast,
		Control:               o.control,
		AtmosphereProtocol:    o.atmoProtocol,
		IdleHeartbeat:         o.idle,
		IdleHeartbeatInterval: o.idleInterval,
		ReorderAdjacent:       o.reorder,
		DropOptional:          o.dropOptional,
	}, logger)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	logger.Info("subscribe with", "base_url", srv.URL(), "tenant", o.tenant, "username", o.user)
	if o.addrFile != "" {
		if err := writeAddrFile(o.addrFile, srv.URL()); err != nil {
			return err
		}
	}
	if o.calls == 0 {
		<-ctx.Done()
		return nil
	}

	err = play(ctx, srv, o, logger)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// play publishes the scripted rounds.
func play(ctx context.Context, srv *sapidouble.Server, o options, logger *slog.Logger) error {
	r := scenario.NewRand(o.seed)
	for round := int64(0); round == 0 || o.repeat; round++ {
		if err := srv.WaitSubscribed(ctx, o.tenant, 1); err != nil {
			return err
		}
		seed := o.seed + round
		events := scenario.Interleave(scenario.Mix(seed, o.tenant, o.calls, time.Now()), seed)
		logger.Info("playing round", "round", round+1, "events", len(events))
		for _, ev := range events {
			if err := srv.Publish(o.tenant, ev); err != nil {
				return err
			}
			if o.duplicateRate > 0 && r.Float64() < o.duplicateRate {
				srv.Failover(o.tenant)
				if err := srv.Publish(o.tenant, ev); err != nil {
					return err
				}
			}
			if err := pause(ctx, o.interval, r); err != nil {
				return err
			}
		}
	}
	logger.Info("all rounds played; serving until interrupted")
	return nil
}

// pause waits about d (±25%), so events do not arrive in lockstep.
func pause(ctx context.Context, d time.Duration, r *rand.Rand) error {
	if d <= 0 {
		return ctx.Err()
	}
	jittered := d*3/4 + time.Duration(r.Int64N(int64(d)/2+1))
	t := time.NewTimer(jittered)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeAddrFile writes url to path through a temporary file and a rename,
// so a reader never sees a partial address.
func writeAddrFile(path, url string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(url+"\n"), 0o600); err != nil {
		return fmt.Errorf("write -addr-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write -addr-file: %w", err)
	}
	return nil
}
