package sapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
)

const testToken = "0123456789abcdef0123456789abcdef"

// syncBuffer is a log sink that tests can read while the client writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// frameLog collects what the client hands to its handler.
type frameLog struct {
	mu     sync.Mutex
	frames []Frame
	signal chan struct{}
}

func newFrameLog() *frameLog { return &frameLog{signal: make(chan struct{}, 1000)} }

func (l *frameLog) handle(_ context.Context, f Frame) error {
	l.mu.Lock()
	f.Bytes = bytes.Clone(f.Bytes)
	l.frames = append(l.frames, f)
	l.mu.Unlock()
	l.signal <- struct{}{}
	return nil
}

// waitFor blocks until n frames arrived and returns their texts.
func (l *frameLog) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		l.mu.Lock()
		if len(l.frames) >= n {
			texts := make([]string, len(l.frames))
			for i, f := range l.frames {
				texts[i] = string(f.Bytes)
			}
			l.mu.Unlock()
			return texts
		}
		l.mu.Unlock()
		select {
		case <-l.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %d frames", n)
		}
	}
}

// startClient runs a Client against url with short test timings.
func startClient(t *testing.T, url string, handle func(context.Context, Frame) error, logs *syncBuffer, tweak func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL: url, Tenant: "acmecorp01", Username: "acmecorp01", Token: secret.Secret(testToken),
		SubscriptionID: "regal-bridge", ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		StreamConfig: StreamConfig{IdleTimeout: 2 * time.Second},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c := NewClient(cfg, handle, logger)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return c
}

// streamServer serves each connection with the next script; the last script
// is reused. A script writes to the stream; returning ends it cleanly.
type streamServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
}

func newStreamServer(t *testing.T, scripts ...func(w http.ResponseWriter, r *http.Request)) *streamServer {
	t.Helper()
	s := &streamServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		n := len(s.requests)
		s.mu.Unlock()
		scripts[min(n, len(scripts))-1](w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *streamServer) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *streamServer) request(i int) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[i]
}

// send writes and flushes stream content.
func send(w http.ResponseWriter, content string) {
	_, _ = io.WriteString(w, content)
	w.(http.Flusher).Flush()
}

// holdOpen keeps a stream open until the client goes away.
func holdOpen(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestClient_reconnects_at_once_with_same_subscription_after_clean_cut(t *testing.T) {
	srv := newStreamServer(t,
		func(w http.ResponseWriter, r *http.Request) { send(w, atmospherePadding+eventA+"\n"+eventB+"\n") },
		func(w http.ResponseWriter, r *http.Request) { send(w, eventPipes+"\n"); holdOpen(w, r) },
	)
	frames := newFrameLog()
	// A backoff this long would fail the test: a clean cut must not wait.
	c := startClient(t, srv.URL, frames.handle, nil, func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Minute })

	assertFrames(t, frames.waitFor(t, 3), []string{eventA, eventB, eventPipes})
	const wantPath = "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-regal-bridge"
	const wantQuery = "desiredOutputType=NEWLINE_JSON&tenantId=acmecorp01&subsId=regal-bridge&X-Atmosphere-Transport=streaming"
	for i := range 2 {
		r := srv.request(i)
		if r.URL.Path != wantPath || r.URL.RawQuery != wantQuery {
			t.Errorf("request %d: %s?%s, want %s?%s", i+1, r.URL.Path, r.URL.RawQuery, wantPath, wantQuery)
		}
	}
	st := c.Stats()
	if st.Connects != 2 || st.Reconnects != 1 || st.Frames != 3 || st.State != StateStreaming || st.LastHTTPStatus != 200 || st.LastFrameAt.IsZero() {
		t.Errorf("stats = %+v", st)
	}
}

func TestClient_sends_basic_auth(t *testing.T) {
	srv := newStreamServer(t, holdOpen)
	startClient(t, srv.URL, newFrameLog().handle, nil, func(c *Config) { c.Username = "api-user" })
	poll.Until(t, "the client connects", func() bool { return srv.requestCount() > 0 })
	user, pass, ok := srv.request(0).BasicAuth()
	if !ok || user != "api-user" || pass != testToken {
		t.Fatalf("basic auth = %q, %q, %v; want api-user and the token", user, pass, ok)
	}
}

func TestClient_unauthorized_alerts_and_keeps_probing(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Basic realm="8x8"`)
				http.Error(w, "bad credentials "+r.Header.Get("Authorization"), status)
			})
			logs := &syncBuffer{}
			c := startClient(t, srv.URL, newFrameLog().handle, logs, nil)
			// The server counts a probe before the client has read its answer.
			poll.Until(t, "the client probes again", func() bool { return srv.requestCount() >= 3 && c.Stats().Unauthorized >= 3 })
			if st := c.Stats(); st.State != StateUnauthorized || st.LastHTTPStatus != status {
				t.Errorf("state %s, last status %d; want unauthorized, %d", st.State, st.LastHTTPStatus, status)
			}
			assertNoSecret(t, logs.String())
			if !strings.Contains(logs.String(), "ALERT") {
				t.Errorf("no alert logged:\n%s", logs)
			}
			if st := c.Stats(); st.Unauthorized < 3 {
				t.Errorf("unauthorized answers counted %d, want every probe", st.Unauthorized)
			}
		})
	}
}

func TestClient_idle_watchdog_drops_silent_stream(t *testing.T) {
	srv := newStreamServer(t,
		func(w http.ResponseWriter, r *http.Request) { send(w, eventA+"\n"); holdOpen(w, r) },
		func(w http.ResponseWriter, r *http.Request) { send(w, eventB+"\n"); holdOpen(w, r) },
	)
	frames := newFrameLog()
	logs := &syncBuffer{}
	c := startClient(t, srv.URL, frames.handle, logs, func(c *Config) { c.IdleTimeout = 100 * time.Millisecond })
	assertFrames(t, frames.waitFor(t, 2), []string{eventA, eventB})
	if st := c.Stats(); st.Connects < 2 {
		t.Errorf("connects = %d, want a reconnect", st.Connects)
	}
	if !strings.Contains(logs.String(), "idle timeout") {
		t.Errorf("the idle drop is not logged:\n%s", logs)
	}
	if st := c.Stats(); st.Stalls < 1 || !strings.Contains(logs.String(), "ALERT: the SAPI stream stalled") {
		t.Errorf("stalls counted %d, want the stall alert raised:\n%s", st.Stalls, logs)
	}
}

func TestClient_possible_gap_alert_after_an_outage_longer_than_the_replay_cache(t *testing.T) {
	tests := []struct {
		name     string
		horizon  time.Duration
		wantGaps uint64
	}{
		{"outage_longer_than_horizon_alerts", 30 * time.Millisecond, 1},
		{"outage_within_horizon_is_quiet", time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down := func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
			}
			srv := newStreamServer(t,
				func(w http.ResponseWriter, r *http.Request) { send(w, eventA+"\n") }, // then the server cuts
				down, down, down, down, down, down,
				func(w http.ResponseWriter, r *http.Request) { send(w, eventB+"\n"); holdOpen(w, r) },
			)
			frames := newFrameLog()
			logs := &syncBuffer{}
			c := startClient(t, srv.URL, frames.handle, logs, func(c *Config) {
				c.ReplayHorizon = tt.horizon
				c.ReconnectMin, c.ReconnectMax = 10*time.Millisecond, 20*time.Millisecond
			})
			frames.waitFor(t, 2)
			alerted := strings.Contains(logs.String(), "ALERT: possible silent gap")
			if st := c.Stats(); st.PossibleGaps != tt.wantGaps || alerted != (tt.wantGaps > 0) {
				t.Errorf("possible gaps %d, alert logged %v; want %d:\n%s", st.PossibleGaps, alerted, tt.wantGaps, logs)
			}
		})
	}
}

func TestClient_backs_off_after_errors(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too many subscriptions", http.StatusTooManyRequests)
	}
	srv := newStreamServer(t, fail, fail, func(w http.ResponseWriter, r *http.Request) { send(w, eventA+"\n"); holdOpen(w, r) })
	frames := newFrameLog()
	logs := &syncBuffer{}
	c := startClient(t, srv.URL, frames.handle, logs, nil)
	assertFrames(t, frames.waitFor(t, 1), []string{eventA})
	if st := c.Stats(); st.Reconnects != 2 || st.Connects != 1 {
		t.Errorf("stats = %+v, want 2 reconnects and 1 connect", st)
	}
	if !strings.Contains(logs.String(), "too many subscriptions") {
		t.Errorf("the error response is not logged:\n%s", logs)
	}
}

func TestClient_backoff_grows_within_bounds(t *testing.T) {
	c := NewClient(Config{ReconnectMin: time.Second, ReconnectMax: 60 * time.Second}, nil, nil)
	tests := []struct {
		failures int
		low      time.Duration
		high     time.Duration
	}{
		{1, time.Second, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, 60 * time.Second},
		{50, 30 * time.Second, 60 * time.Second},
	}
	for _, tt := range tests {
		for range 100 {
			if d := c.backoff(tt.failures); d < tt.low || d > tt.high {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", tt.failures, d, tt.low, tt.high)
			}
		}
	}
}

func TestClient_handler_error_does_not_stop_the_stream(t *testing.T) {
	srv := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		send(w, eventA+"\n"+eventB+"\n")
		holdOpen(w, r)
	})
	var calls atomic.Int32
	got := make(chan string, 2)
	logs := &syncBuffer{}
	c := startClient(t, srv.URL, func(_ context.Context, f Frame) error {
		got <- string(f.Bytes)
		if calls.Add(1) == 1 {
			return errors.New("redis unavailable")
		}
		return nil
	}, logs, nil)
	for _, want := range []string{eventA, eventB} {
		if frame := <-got; frame != want {
			t.Fatalf("frame %q, want %q", frame, want)
		}
	}
	poll.Until(t, "the handler error is counted", func() bool { return c.Stats().HandlerErrors == 1 })
	if !strings.Contains(logs.String(), "redis unavailable") {
		t.Errorf("handler error not logged:\n%s", logs)
	}
}

func TestClient_oversized_frame_reaches_handler_with_error(t *testing.T) {
	big := `{"Interaction":{"pad":"` + strings.Repeat("x", 5000) + `"}}`
	srv := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		send(w, big+"\n"+eventA+"\n")
		holdOpen(w, r)
	})
	frames := newFrameLog()
	c := startClient(t, srv.URL, frames.handle, nil, func(c *Config) { c.MaxEventBytes = 1024 })
	frames.waitFor(t, 2)
	frames.mu.Lock()
	first, second := frames.frames[0], frames.frames[1]
	frames.mu.Unlock()
	var fe *FrameError
	if !errors.As(first.Err, &fe) || !strings.HasPrefix(big, string(first.Bytes)) || len(first.Bytes) == 0 {
		t.Errorf("first frame: err %v, %d bytes; want a FrameError with the frame's prefix", first.Err, len(first.Bytes))
	}
	if second.Err != nil || string(second.Bytes) != eventA {
		t.Errorf("second frame %q, %v; want %q", second.Bytes, second.Err, eventA)
	}
	if st := c.Stats(); st.Oversized != 1 || st.Frames != 1 {
		t.Errorf("stats = %+v, want 1 oversized, 1 frame", st)
	}
}

func TestClient_lifecycle(t *testing.T) {
	t.Run("shutdown_before_start_is_safe_and_idempotent", func(t *testing.T) {
		c := NewClient(Config{}, nil, nil)
		for range 2 {
			if err := c.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		}
		if c.Stats().State != StateStopped {
			t.Errorf("state %s, want stopped", c.Stats().State)
		}
	})
	t.Run("start_validates_the_config", func(t *testing.T) {
		c := NewClient(Config{BaseURL: "https://vcc-na12.8x8.com"}, newFrameLog().handle, nil)
		if err := c.Start(context.Background()); err == nil {
			t.Fatal("Start accepted a config without tenant, token and subscription")
		}
	})
	t.Run("start_twice_and_after_shutdown_fail", func(t *testing.T) {
		srv := newStreamServer(t, holdOpen)
		c := startClient(t, srv.URL, newFrameLog().handle, nil, nil)
		if err := c.Start(context.Background()); err == nil {
			t.Error("second Start succeeded")
		}
		if err := c.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(context.Background()); err == nil {
			t.Error("Start after Shutdown succeeded")
		}
	})
	t.Run("cancelling_start_context_does_not_stop_the_loop", func(t *testing.T) {
		srv := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) { send(w, eventA+"\n"); holdOpen(w, r) })
		frames := newFrameLog()
		ctx, cancel := context.WithCancel(context.Background())
		c := NewClient(Config{BaseURL: srv.URL, Tenant: "t", Token: "tok", SubscriptionID: "s"}, frames.handle, nil)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		frames.waitFor(t, 1)
		if err := c.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("shutdown_interrupts_a_blocked_handler", func(t *testing.T) {
		srv := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) { send(w, eventA+"\n"); holdOpen(w, r) })
		entered := make(chan struct{})
		c := startClient(t, srv.URL, func(ctx context.Context, _ Frame) error {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		}, nil, nil)
		<-entered
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if st := c.Stats(); st.HandlerErrors != 0 || st.State != StateStopped {
			t.Errorf("stats = %+v; a shutdown is not a handler error", st)
		}
	})
}

// assertNoSecret fails if text holds the test token, raw or Basic-encoded.
func assertNoSecret(t *testing.T, text string) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte("acmecorp01:" + testToken))
	if strings.Contains(text, testToken) || strings.Contains(text, basic) {
		t.Fatalf("the token leaked:\n%s", text)
	}
}

func TestClient_empty_streams_back_off_instead_of_spinning(t *testing.T) {
	srv := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) { send(w, atmospherePadding) })
	const reconnectMin = 50 * time.Millisecond
	start := time.Now()
	startClient(t, srv.URL, newFrameLog().handle, nil, func(c *Config) {
		c.ReconnectMin, c.ReconnectMax = reconnectMin, 100*time.Millisecond
	})
	poll.Until(t, "the client to reconnect twice", func() bool { return srv.requestCount() >= 3 })
	// Spinning would make the three requests within a few milliseconds.
	if took := time.Since(start); took < 2*reconnectMin {
		t.Fatalf("3 requests within %s, want a backoff of at least %s between empty streams", took, reconnectMin)
	}
}
