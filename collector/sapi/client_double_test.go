package sapi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
)

const (
	doubleTenant = "acmecorp01"
	doubleToken  = "0123456789abcdef0123456789abcdef"
)

// lockedBuffer is a log sink the test reads while the client writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// doubleRun is a client streaming from a real SAPI double.
type doubleRun struct {
	double *sapidouble.Server
	client *sapi.Client
	logs   *lockedBuffer

	mu       sync.Mutex
	events   []string // event names received, heartbeats left out
	rejected []string // the kept starts of frames the framer rejected
}

// transports are the client transports every fault test runs over.
var transports = []string{sapi.TransportStreaming, sapi.TransportWebSocket}

// successStatus is the HTTP status that opens a stream on each transport.
var successStatus = map[string]int{sapi.TransportStreaming: 200, sapi.TransportWebSocket: 101}

// forEachTransport runs test once per transport, as a subtest named after
// it.
func forEachTransport(t *testing.T, test func(t *testing.T, transport string)) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) { test(t, transport) })
	}
}

// startDoubleRun starts a double (127.0.0.1, free port) and a client
// subscribed to it over transport with test timings.
func startDoubleRun(t *testing.T, transport string, tweakDouble func(*sapidouble.Config), tweakClient func(*sapi.Config), opts ...sapi.Option) *doubleRun {
	t.Helper()
	cfg := sapidouble.Config{
		Tenants: map[string]sapidouble.Credentials{doubleTenant: {Username: doubleTenant, Token: doubleToken}},
	}
	if tweakDouble != nil {
		tweakDouble(&cfg)
	}
	run := &doubleRun{double: sapidouble.New(cfg, nil), logs: &lockedBuffer{}}
	if err := run.double.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := run.double.Shutdown(ctx); err != nil {
			t.Errorf("double shutdown: %v", err)
		}
	})
	clientCfg := sapi.Config{
		BaseURL: run.double.URL(), Tenant: doubleTenant, Token: doubleToken, SubscriptionID: "regal",
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
		StreamConfig: sapi.StreamConfig{IdleTimeout: 5 * time.Second, Transport: transport},
	}
	if tweakClient != nil {
		tweakClient(&clientCfg)
	}
	run.client = sapi.NewClient(clientCfg, run.handle, slog.New(slog.NewTextHandler(run.logs, nil)), opts...)
	if err := run.client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := run.client.Shutdown(ctx); err != nil {
			t.Errorf("client shutdown: %v", err)
		}
	})
	run.waitSubscribed(t)
	return run
}

func (r *doubleRun) handle(_ context.Context, f sapi.Frame) error {
	if f.Err != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.rejected = append(r.rejected, string(f.Bytes))
		return nil
	}
	ev, err := sapi.Decode(f.Bytes, doubleTenant, "regal", f.ReceivedAt)
	if errors.Is(err, sapi.ErrHeartbeat) {
		return nil
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev.EventType)
	return nil
}

func (r *doubleRun) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *doubleRun) waitSubscribed(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.double.WaitSubscribed(ctx, doubleTenant, 1); err != nil {
		t.Fatal(err)
	}
}

func (r *doubleRun) publish(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		ev := `{"Interaction":{"callState":"CS_QUEUED","event":"` + name + `","interactionEventTS":1724685483,"interactionGUID":"int-1"}}`
		if err := r.double.Publish(doubleTenant, []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *doubleRun) waitEvents(t *testing.T, want ...string) {
	t.Helper()
	poll.Until(t, "events "+strings.Join(want, ", "), func() bool {
		got := r.received()
		return len(got) >= len(want) && strings.Join(got[len(got)-len(want):], ",") == strings.Join(want, ",")
	})
}

func TestClientAgainstDouble_reset_reconnects_and_gets_the_replay(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		run := startDoubleRun(t, transport, func(c *sapidouble.Config) { c.ReplayLast = 1 }, nil)
		run.publish(t, "InteractionCreated")
		run.waitEvents(t, "InteractionCreated")

		run.double.Reset(doubleTenant)
		run.publish(t, "InteractionQueued") // buffered for the subsId while it is away
		// The replay re-sends the last event delivered before the reset, then
		// the buffered one.
		run.waitEvents(t, "InteractionCreated", "InteractionCreated", "InteractionQueued")
		stats := run.client.Stats()
		if stats.Connects < 2 || stats.Reconnects < 1 || stats.State != sapi.StateStreaming {
			t.Fatalf("after a reset: %+v", stats)
		}
		poll.Until(t, "the reset logged as a stream failure", func() bool {
			return strings.Contains(run.logs.String(), "sapi stream failed")
		})
	})
}

func TestClientAgainstDouble_stall_fires_the_idle_watchdog(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		run := startDoubleRun(t, transport,
			// ReplayLast covers the edge where the stall ends just as the
			// watchdog drops the stream: the write lands in a closed socket.
			func(c *sapidouble.Config) { c.HeartbeatInterval, c.ReplayLast = 20*time.Millisecond, 1 },
			func(c *sapi.Config) { c.IdleTimeout = 150 * time.Millisecond })
		run.publish(t, "InteractionCreated")
		run.waitEvents(t, "InteractionCreated")

		run.double.Stall(doubleTenant, 0)
		run.publish(t, "InteractionQueued")
		poll.Until(t, "the idle watchdog and its alert", func() bool {
			return run.client.Stats().Stalls >= 1 && strings.Contains(run.logs.String(), "ALERT: the SAPI stream stalled")
		})
		if got := run.received(); len(got) != 1 {
			t.Fatalf("received %q during the stall, want nothing new", got)
		}

		run.double.Unstall(doubleTenant)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("double %+v client %+v received %q\n%s", run.double.Stats(), run.client.Stats(), run.received(), run.logs)
			}
		})
		poll.Until(t, "the event published during the stall", func() bool { return slices.Contains(run.received(), "InteractionQueued") })
		poll.Until(t, "streaming again", func() bool { return run.client.Stats().State == sapi.StateStreaming })
	})
}

func TestClientAgainstDouble_token_rotation_then_recovery(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		run := startDoubleRun(t, transport, nil, nil)
		run.publish(t, "InteractionCreated")
		run.waitEvents(t, "InteractionCreated")

		run.double.RotateToken(doubleTenant, secret.Secret("fedcba9876543210fedcba9876543210"))
		run.double.Cut(doubleTenant) // the next reconnect meets the new token
		poll.Until(t, "the unauthorized state and its alert", func() bool {
			return run.client.Stats().State == sapi.StateUnauthorized &&
				strings.Contains(run.logs.String(), "ALERT: 8x8 rejected the SAPI credentials")
		})
		if stats := run.client.Stats(); stats.Unauthorized < 1 || stats.LastHTTPStatus != 401 {
			t.Fatalf("after rotation: %+v", stats)
		}
		run.publish(t, "InteractionQueued") // buffered for the subsId meanwhile

		run.double.RestoreToken(doubleTenant)
		run.waitEvents(t, "InteractionQueued")
		if got := run.client.Stats(); got.State != sapi.StateStreaming || got.LastHTTPStatus != successStatus[transport] {
			t.Fatalf("after the token is accepted again: %+v", got)
		}
	})
}

func TestClientAgainstDouble_clean_cut_reconnects_at_once(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		run := startDoubleRun(t, transport, func(c *sapidouble.Config) {
			c.HeartbeatInterval, c.IdleHeartbeat, c.IdleHeartbeatInterval = 20*time.Millisecond, sapidouble.IdleHeartbeatX, 10*time.Millisecond
		}, nil)
		run.publish(t, "InteractionCreated")
		run.waitEvents(t, "InteractionCreated")
		run.double.Cut(doubleTenant)
		run.publish(t, "InteractionQueued", "InteractionAssigned")
		run.waitEvents(t, "InteractionCreated", "InteractionQueued", "InteractionAssigned")
		poll.Until(t, "the clean end logged", func() bool {
			return strings.Contains(run.logs.String(), "sapi stream ended by the server")
		})
		if strings.Contains(run.logs.String(), "sapi stream failed") {
			t.Errorf("a clean cut was taken for a failure:\n%s", run.logs)
		}
		if got := run.client.Stats(); got.Connects < 2 || got.LastHTTPStatus != successStatus[transport] {
			t.Fatalf("after a cut: %+v", got)
		}
	})
}

// An event over MaxEventBytes is rejected with its start kept, and the
// stream goes on: over WebSocket too, where a read limit that dropped the
// connection would have 8x8 replay the same message on every reconnect.
func TestClientAgainstDouble_oversized_frame_is_rejected_and_the_stream_goes_on(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		run := startDoubleRun(t, transport, nil, func(c *sapi.Config) { c.MaxEventBytes = 1024 })
		big := `{"Interaction":{"interactionGUID":"int-big","pad":"` + strings.Repeat("x", 64<<10) + `"}}`
		run.double.PublishRaw(doubleTenant, []byte(big+"\n"))
		run.publish(t, "InteractionCreated")
		run.waitEvents(t, "InteractionCreated")
		run.mu.Lock()
		rejected := slices.Clone(run.rejected)
		run.mu.Unlock()
		if len(rejected) != 1 {
			t.Fatalf("%d rejected frames, want 1", len(rejected))
		}
		if kept := rejected[0]; !strings.HasPrefix(big, kept) || len(kept) == 0 || len(kept) > 4<<10 {
			t.Fatalf("rejected frame kept as %d bytes, want the big frame's start, at most 4 KiB", len(kept))
		}
		if st := run.client.Stats(); st.Oversized != 1 || st.Connects != 1 {
			t.Fatalf("stats %+v, want 1 oversized frame on the first connection", st)
		}
	})
}
