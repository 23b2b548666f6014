package sapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one frame read off the stream, handed to the Client's handler.
type Frame struct {
	// Bytes is the frame, valid only during the handler call: copy it (Decode
	// does) to keep it. For a rejected frame it holds the frame's first bytes.
	Bytes []byte
	// ReceivedAt is when the frame was read.
	ReceivedAt time.Time
	// Err is set (a *FrameError) when the frame was rejected, e.g. oversized,
	// so the handler can count or keep it.
	Err error
}

// errIdle is the cause of a stream dropped by the idle watchdog.
var errIdle = errors.New("idle timeout")

// Client keeps one SAPI subscription streaming and hands every frame to a
// handler, in stream order, one at a time.
//
// Reconnects use the same subsId, so 8x8 replays what it cached meanwhile:
// at once after a clean end of stream (the 60-minute cut), after an
// exponential backoff with jitter after errors, and every ReconnectMax while
// 8x8 answers 401/403. A stream silent for MissedHeartbeats of its learned
// heartbeat intervals (within [IdleTimeoutMin, IdleTimeout]; IdleTimeout
// until an interval is learned) is dropped and reopened. A stream that ends
// before delivering a frame and sooner than ReconnectMin counts as an error,
// so a misbehaving server cannot make the client spin.
type Client struct {
	cfg       Config
	streamURL string
	handle    func(ctx context.Context, f Frame) error
	log       *slog.Logger
	transport *http.Transport
	http      *http.Client
	clock     Clock
	// heartbeats learns the server's heartbeat interval; the stall
	// watchdog's timeout follows it.
	heartbeats heartbeats

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	counters
}

// NewClient returns a Client for cfg (defaults applied; Start validates it).
//
// handle is called sequentially in stream order. If it returns an error the
// Client logs it and goes on with the next frame: the handler is responsible
// for not losing the frame. ctx passed to handle is cancelled on Shutdown.
// A nil logger discards logs.
func NewClient(cfg Config, handle func(ctx context.Context, f Frame) error, logger *slog.Logger, opts ...Option) *Client {
	cfg.SetDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// A compressing proxy would hold events back until its buffer fills.
	transport.DisableCompression = true
	c := &Client{
		cfg:       cfg,
		streamURL: cfg.StreamURL(),
		handle:    handle,
		log:       logger.With("component", "sapi", "tenant", cfg.Tenant, "subscription_id", cfg.SubscriptionID),
		transport: transport,
		http:      &http.Client{Transport: transport},
		clock:     realClock{},
	}
	for _, opt := range opts {
		opt(c)
	}
	c.stallTimeoutNanos.Store(int64(c.stallTimeout()))
	return c
}

// stallTimeout is how long the stream may stay silent now.
func (c *Client) stallTimeout() time.Duration {
	return c.heartbeats.stallTimeout(c.cfg.MissedHeartbeats, c.cfg.IdleTimeoutMin, c.cfg.IdleTimeout)
}

// learnHeartbeat records a heartbeat (a ClientCheck or "X" padding) read at
// now; the stall timeout it implies applies from the watchdog's next kick.
func (c *Client) learnHeartbeat(now time.Time) {
	c.heartbeats.observe(now)
	c.stallTimeoutNanos.Store(int64(c.stallTimeout()))
}

// Start validates the configuration and launches the read loop in its own
// goroutine. ctx only carries values: cancelling it does not stop the loop;
// Shutdown does.
func (c *Client) Start(ctx context.Context) error {
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	if c.handle == nil {
		return errors.New("sapi: client needs a frame handler")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.stopped:
		return errors.New("sapi: client is shut down")
	case c.started:
		return errors.New("sapi: client already started")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.started, c.cancel, c.done = true, cancel, make(chan struct{})
	go c.run(runCtx)
	return nil
}

// Shutdown stops the read loop and waits for it (and any running handler
// call) to return, or for ctx to end. It is idempotent and safe to call
// before Start.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.stopped = true
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel == nil {
		c.state.Store(int32(StateStopped))
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sapi: shutdown: %w", ctx.Err())
	}
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats { return c.snapshot() }

func (c *Client) setState(s State) { c.state.Store(int32(s)) }

// run is the read loop: stream, then decide how soon to stream again.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	defer c.transport.CloseIdleConnections()
	defer c.setState(StateStopped)
	c.log.Info("sapi subscription starting", "url", c.streamURL)
	failures := 0
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			c.reconnects.Add(1)
		}
		res := c.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if res.connected {
			c.disconnectedNanos.Store(time.Now().UnixNano())
		}
		if errors.Is(res.err, errIdle) {
			interval, learned := c.heartbeats.interval()
			c.log.Error("ALERT: the SAPI stream stalled (no data, not even a heartbeat); dropping it and reconnecting",
				"idle_for", res.idleFor, "heartbeat_interval", interval, "heartbeat_learned", learned)
			// The estimate may have been too short; the next stream waits
			// up to the ceiling until it has learned the interval again.
			c.heartbeats.forget()
			c.stallTimeoutNanos.Store(int64(c.stallTimeout()))
		}
		var wait time.Duration
		switch {
		case res.unauthorized:
			c.unauthorized.Add(1)
			c.setState(StateUnauthorized)
			wait = c.cfg.ReconnectMax
			c.log.Error("ALERT: 8x8 rejected the SAPI credentials; check the username and Data Request Token "+
				"(generating a new token in Configuration Manager invalidates the old one)",
				"status", res.status, "retry_in", wait)
		case res.err == nil && (res.frames > 0 || res.duration >= c.cfg.ReconnectMin):
			failures = 0
			c.log.Info("sapi stream ended by the server; reconnecting with the same subscription",
				"connected_for", res.duration.Round(time.Millisecond))
			continue
		default:
			if res.err == nil {
				res.err = errors.New("stream ended at once without an event")
			}
			failures++
			wait = c.backoff(failures)
			c.setState(StateBackoff)
			c.log.Warn("sapi stream failed; reconnecting after backoff",
				"error", res.err, "status", res.status, "retry_in", wait.Round(time.Millisecond))
		}
		if !sleep(ctx, c.clock, wait) {
			return
		}
	}
}

// streamResult says how one stream ended.
type streamResult struct {
	status       int   // HTTP status; 0 if no response
	unauthorized bool  // 401 or 403
	err          error // nil for a clean end of stream
	frames       int   // frames the stream delivered
	duration     time.Duration
	connected    bool          // the server answered 200 (101 for WebSocket) and the stream was read
	idleFor      time.Duration // with errIdle: the silence that made the stall
}

// stream opens one subscription and reads it until it ends.
func (c *Client) stream(ctx context.Context) streamResult {
	if State(c.state.Load()) != StateUnauthorized {
		c.setState(StateConnecting)
	}
	streamCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c.heartbeats.newStream()
	var idleFor atomic.Int64 // the timeout in force when the watchdog fired
	watchdog := newWatchdog(c.clock, func() time.Duration {
		// Kept current by learnHeartbeat, so a kick (every read) takes no
		// lock.
		d := c.stallTimeoutNanos.Load()
		idleFor.Store(d)
		return time.Duration(d)
	}, func() {
		// Counted here, when it fires, so the count is exact even if the
		// stream also ends for another reason meanwhile.
		c.stalls.Add(1)
		cancel(errIdle)
	})
	defer watchdog.pause()

	started := time.Now()
	open := c.openHTTP
	if c.cfg.Transport == TransportWebSocket {
		open = c.openWebSocket
	}
	opened, failed := open(streamCtx)
	if opened == nil {
		if failed.err != nil {
			failed.err = streamError(streamCtx, time.Duration(idleFor.Load()), failed.err)
			failed.idleFor = time.Duration(idleFor.Load())
		}
		return failed
	}
	defer func() { _ = opened.body.Close() }()
	c.connects.Add(1)
	c.setState(StateStreaming)
	c.log.Info("sapi stream connected", "transport", c.cfg.Transport)
	c.checkGap()
	body := &activityReader{r: opened.body, watchdog: watchdog}
	frames, err := c.readFrames(ctx, body, watchdog)
	res := streamResult{status: opened.status, frames: frames, duration: time.Since(started), connected: true,
		idleFor: time.Duration(idleFor.Load())}
	if err != nil && !errors.Is(err, io.EOF) {
		res.err = streamError(streamCtx, res.idleFor, err)
	}
	return res
}

// checkGap raises the possible-gap alert when the stream that just opened
// ends an outage longer than 8x8's replay cache: the events of the start of
// the outage are gone for good, and only a reconciliation can find them.
func (c *Client) checkGap() {
	since := c.disconnectedNanos.Swap(0)
	if since == 0 {
		return
	}
	if outage := time.Since(time.Unix(0, since)); outage > c.cfg.ReplayHorizon {
		c.possibleGaps.Add(1)
		c.log.Error("ALERT: possible silent gap: the SAPI stream was down longer than 8x8's replay cache; "+
			"events from the start of the outage may be lost (reconcile with 8x8's historical reports)",
			"outage", outage.Round(time.Second), "replay_horizon", c.cfg.ReplayHorizon)
	}
}

// readFrames hands every frame of one stream to the handler and counts
// them.
func (c *Client) readFrames(ctx context.Context, body io.Reader, watchdog *watchdog) (frames int, err error) {
	framer := NewFramer(body, c.cfg.Format(), c.cfg.MaxEventBytes)
	framer.onPadding = func() {
		c.learnHeartbeat(c.clock.Now())
		watchdog.kick() // with the timeout just learned
		c.heartbeatCount.Add(1)
	}
	for ; ; frames++ {
		b, err := framer.Next()
		now := time.Now()
		var rejected *FrameError
		switch {
		case err == nil:
			c.frames.Add(1)
			c.lastFrameNanos.Store(now.UnixNano())
			heartbeat := isClientCheck(b)
			if heartbeat {
				// Before delivery, whose end kicks the watchdog with the
				// timeout this heartbeat implies.
				c.learnHeartbeat(c.clock.Now())
			}
			c.deliver(ctx, watchdog, Frame{Bytes: b, ReceivedAt: now})
			if heartbeat {
				c.heartbeatCount.Add(1)
			}
		case errors.As(err, &rejected):
			c.oversized.Add(1)
			c.log.Warn("sapi frame rejected", "reason", rejected.Reason, "size", rejected.Size)
			c.deliver(ctx, watchdog, Frame{Bytes: rejected.Prefix, ReceivedAt: now, Err: rejected})
		default:
			return frames, err
		}
		if ctx.Err() != nil {
			return frames + 1, ctx.Err()
		}
	}
}

// deliver calls the handler with the watchdog paused: a slow handler is not
// a silent server.
func (c *Client) deliver(ctx context.Context, watchdog *watchdog, f Frame) {
	watchdog.pause()
	defer watchdog.kick()
	if err := c.handle(ctx, f); err != nil && ctx.Err() == nil {
		c.handlerErrors.Add(1)
		c.log.Error("sapi frame handler failed", "error", err)
	}
}

// streamError names the idle watchdog when it is what ended the stream.
func streamError(streamCtx context.Context, idleFor time.Duration, err error) error {
	if errors.Is(context.Cause(streamCtx), errIdle) {
		return fmt.Errorf("no data for %s, dropping the stream: %w", idleFor, errIdle)
	}
	return err
}

// bodySnippet reads the start of an error response for the log, with the
// credentials scrubbed in case the server echoes them.
func (c *Client) bodySnippet(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 256))
	s := strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
	if token := c.cfg.Token.Reveal(); token != "" {
		basic := base64.StdEncoding.EncodeToString([]byte(c.cfg.Username + ":" + token))
		s = strings.NewReplacer(token, "[redacted]", basic, "[redacted]").Replace(s)
	}
	return s
}

// backoff is the wait after the n-th consecutive failure: ReconnectMin
// doubled per failure, capped at ReconnectMax, with "equal jitter" (half
// fixed, half random) so many collectors do not reconnect in step, and never
// below ReconnectMin.
func (c *Client) backoff(failures int) time.Duration {
	d := c.cfg.ReconnectMin
	for i := 1; i < failures && d < c.cfg.ReconnectMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.ReconnectMax)
	d = d/2 + rand.N(d/2+1)
	return max(d, c.cfg.ReconnectMin)
}
