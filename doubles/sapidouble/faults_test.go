package sapidouble

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
)

// expectSilence fails if the subscriber gets a frame within d.
func (s *subscriber) expectSilence(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f, ok := <-s.frames:
		if ok {
			t.Fatalf("got %q during a stall", f)
		}
		t.Fatal("stream ended during a stall")
	case <-time.After(d):
	}
}

// drainUntilQuiet reads frames until none has come for quiet, and fails
// if the stream does not fall quiet within poll.Timeout.
func (s *subscriber) drainUntilQuiet(t *testing.T, quiet time.Duration) {
	t.Helper()
	deadline := time.After(poll.Timeout)
	for {
		select {
		case _, ok := <-s.frames:
			if !ok {
				t.Fatal("stream ended while draining it")
			}
		case <-time.After(quiet):
			return
		case <-deadline:
			t.Fatalf("the stream was not quiet for %s within %s", quiet, poll.Timeout)
		}
	}
}

func TestReset_aborts_streams_and_keeps_the_buffer(t *testing.T) {
	tests := []struct {
		name  string
		reset func(t *testing.T, s *Server)
	}{
		{"go_control", func(_ *testing.T, s *Server) { s.Reset(tenant) }},
		{"control_endpoint", func(t *testing.T, s *Server) {
			if status, body := control(t, s, http.MethodPost, "/_double/reset?tenant="+tenant, ""); status != http.StatusNoContent {
				t.Fatalf("reset: HTTP %d %s", status, body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, withControl)
			sub := subscribe(t, s, "regal", "NEWLINE_JSON")
			waitSubscribed(t, s, 1)
			must(t, s.Publish(tenant, event("InteractionCreated", 1)))
			sub.nextEvent(t)
			tt.reset(t, s)
			if err := sub.waitEnd(t); err == nil {
				t.Fatal("stream ended cleanly, want an abrupt end")
			}
			must(t, s.Publish(tenant, event("InteractionQueued", 2)))
			again := subscribe(t, s, "regal", "NEWLINE_JSON")
			if got := again.nextEvent(t); !strings.Contains(got, "InteractionQueued") {
				t.Fatalf("after reconnecting got %s, want the buffered InteractionQueued", got)
			}
		})
	}
}

func TestStall_sends_nothing_until_it_ends(t *testing.T) {
	tests := []struct {
		name  string
		stall func(t *testing.T, s *Server)
		end   func(t *testing.T, s *Server)
	}{
		{"go_control_until_unstall", func(_ *testing.T, s *Server) { s.Stall(tenant, 0) },
			func(_ *testing.T, s *Server) { s.Unstall(tenant) }},
		{"go_control_for_a_duration", func(_ *testing.T, s *Server) { s.Stall(tenant, 300*time.Millisecond) },
			func(*testing.T, *Server) {}},
		{"control_endpoint_until_unstall", func(t *testing.T, s *Server) {
			if status, body := control(t, s, http.MethodPost, "/_double/stall?tenant="+tenant, ""); status != http.StatusNoContent {
				t.Fatalf("stall: HTTP %d %s", status, body)
			}
		}, func(t *testing.T, s *Server) {
			if status, body := control(t, s, http.MethodPost, "/_double/unstall?tenant="+tenant, ""); status != http.StatusNoContent {
				t.Fatalf("unstall: HTTP %d %s", status, body)
			}
		}},
		{"control_endpoint_for_a_duration", func(t *testing.T, s *Server) {
			if status, body := control(t, s, http.MethodPost, "/_double/stall?tenant="+tenant+"&for=300ms", ""); status != http.StatusNoContent {
				t.Fatalf("stall: HTTP %d %s", status, body)
			}
		}, func(*testing.T, *Server) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, func(c *Config) {
				c.Control = true
				c.HeartbeatInterval = 20 * time.Millisecond
				c.IdleHeartbeat = IdleHeartbeatX
				c.IdleHeartbeatInterval = 20 * time.Millisecond
			})
			sub := subscribe(t, s, "regal", "NEWLINE_JSON")
			waitSubscribed(t, s, 1)
			if got := sub.next(t); !strings.Contains(got, "ClientCheck") {
				t.Fatalf("got %s, want a heartbeat before the stall", got)
			}
			tt.stall(t, s)
			// A heartbeat being written as the stall began may still be on
			// its way: drain until the stream has been quiet for a few
			// heartbeat intervals.
			sub.drainUntilQuiet(t, 60*time.Millisecond)
			must(t, s.Publish(tenant, event("InteractionCreated", 1)))
			sub.expectSilence(t, 200*time.Millisecond)
			tt.end(t, s)
			if got := sub.nextEvent(t); !strings.Contains(got, "InteractionCreated") {
				t.Fatalf("after the stall got %s, want the event published during it", got)
			}
		})
	}
}

// subscribeStatus answers the status of a subscribe request with token.
func subscribeStatus(t *testing.T, s *Server, token string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+streamPath("rot", "NEWLINE_JSON"), nil)
	req.SetBasicAuth(username, token)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestRotateToken_rejects_the_old_token(t *testing.T) {
	const newToken = "fedcba9876543210fedcba9876543210"
	tests := []struct {
		name    string
		rotate  func(t *testing.T, s *Server, token string)
		restore func(t *testing.T, s *Server)
	}{
		{"go_control", func(_ *testing.T, s *Server, token string) { s.RotateToken(tenant, secret.Secret(token)) },
			func(_ *testing.T, s *Server) { s.RestoreToken(tenant) }},
		{"control_endpoint", func(t *testing.T, s *Server, token string) {
			if status, body := control(t, s, http.MethodPost, "/_double/rotate-token?tenant="+tenant, token); status != http.StatusNoContent {
				t.Fatalf("rotate-token: HTTP %d %s", status, body)
			}
		}, func(t *testing.T, s *Server) {
			if status, body := control(t, s, http.MethodPost, "/_double/restore-token?tenant="+tenant, ""); status != http.StatusNoContent {
				t.Fatalf("restore-token: HTTP %d %s", status, body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, withControl)
			tt.rotate(t, s, newToken)
			if got := subscribeStatus(t, s, testToken); got != http.StatusUnauthorized {
				t.Errorf("old token after rotation: HTTP %d, want 401", got)
			}
			if got := subscribeStatus(t, s, newToken); got != http.StatusOK {
				t.Errorf("new token after rotation: HTTP %d, want 200", got)
			}
			tt.rotate(t, s, "")
			if got := subscribeStatus(t, s, newToken); got != http.StatusUnauthorized {
				t.Errorf("rotated to no token: HTTP %d, want 401", got)
			}
			tt.restore(t, s)
			if got := subscribeStatus(t, s, testToken); got != http.StatusOK {
				t.Errorf("configured token after restore: HTTP %d, want 200", got)
			}
		})
	}
}

// rawStart opens a stream and returns its first n bytes.
func rawStart(t *testing.T, s *Server, query string, n int, publish bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp := get(t, ctx, s.URL()+streamPath("raw", "NEWLINE_JSON")+query, true)
	defer func() { _ = resp.Body.Close() }()
	if publish {
		waitSubscribed(t, s, 1)
		must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatalf("reading the stream's first %d bytes: %v", n, err)
	}
	return string(buf)
}

func TestAtmosphereProtocol_handshake(t *testing.T) {
	const protocol = "&X-atmo-protocol=true&X-Atmosphere-tracking-id=0"
	tests := []struct {
		name    string
		enabled bool
		padding IdleHeartbeat
		query   string
		want    string
	}{
		{"handshake_with_x_padding", true, IdleHeartbeatX, protocol, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\|60000\|X\|\{`},
		{"handshake_with_space_padding", true, IdleHeartbeatSpace, protocol, `^[0-9a-f-]{36}\|60000\| \|\{`},
		{"handshake_length_prefixed", true, IdleHeartbeatX, protocol + "&X-Atmosphere-TrackMessageSize=true", `^45\|[0-9a-f-]{36}\|60000\|X\|\d+\|\{`},
		{"no_handshake_without_tracking_id_0", true, IdleHeartbeatX, "&X-atmo-protocol=true", `^\{"Interaction"`},
		{"no_handshake_when_off", false, IdleHeartbeatX, protocol, `^\{"Interaction"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, func(c *Config) {
				c.AtmosphereProtocol = tt.enabled
				c.IdleHeartbeat = tt.padding
			})
			got := rawStart(t, s, tt.query, 60, true)
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Fatalf("stream starts %q, want /%s/", got, tt.want)
			}
		})
	}
}

func TestIdleHeartbeat_pads_idle_streams(t *testing.T) {
	tests := []struct {
		name   string
		config IdleHeartbeat
		mode   string // set through the control API when not empty
		want   string
	}{
		{"x_from_config", IdleHeartbeatX, "", "XX"},
		{"space_from_config", IdleHeartbeatSpace, "", "  "},
		{"space_from_control_endpoint", IdleHeartbeatOff, "space", "  "},
		{"x_from_control_endpoint", IdleHeartbeatOff, "x", "XX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, func(c *Config) {
				c.Control = true
				c.IdleHeartbeat = tt.config
				c.IdleHeartbeatInterval = 20 * time.Millisecond
			})
			if tt.mode != "" {
				if status, body := control(t, s, http.MethodPost, "/_double/idle-heartbeat?mode="+tt.mode, ""); status != http.StatusNoContent {
					t.Fatalf("idle-heartbeat: HTTP %d %s", status, body)
				}
			}
			if got := rawStart(t, s, "", 2, false); got != tt.want {
				t.Fatalf("idle stream wrote %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIdleHeartbeat_does_not_disturb_the_collector_framer(t *testing.T) {
	s := startDouble(t, func(c *Config) {
		c.IdleHeartbeat = IdleHeartbeatX
		c.IdleHeartbeatInterval = 10 * time.Millisecond
	})
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	// Nothing but padding is written to an idle stream without heartbeats.
	poll.Until(t, "idle padding read", func() bool { return sub.read.Load() > 0 })
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	if got := sub.nextEvent(t); !strings.Contains(got, "InteractionCreated") || strings.Contains(got, "X{") {
		t.Fatalf("got frame %q", got)
	}
}

func TestOrderingFaults(t *testing.T) {
	names := []string{"InteractionCreated", "InteractionQueued", "InteractionUnqueued", "InteractionDeleted"}
	tests := []struct {
		name     string
		config   func(*Config)
		endpoint string
		want     []string
	}{
		{"off_by_default", func(*Config) {}, "", names},
		{"reorder_swaps_adjacent_pairs", func(c *Config) { c.ReorderAdjacent = 1 }, "",
			[]string{"InteractionQueued", "InteractionCreated", "InteractionDeleted", "InteractionUnqueued"}},
		{"drop_removes_optional_events", func(c *Config) { c.DropOptional = 1 }, "",
			[]string{"InteractionCreated", "InteractionQueued", "InteractionDeleted"}},
		{"control_endpoint", func(*Config) {}, "/_double/ordering?drop=1",
			[]string{"InteractionCreated", "InteractionQueued", "InteractionDeleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, func(c *Config) { c.Control = true; tt.config(c) })
			if tt.endpoint != "" {
				if status, body := control(t, s, http.MethodPost, tt.endpoint, ""); status != http.StatusNoContent {
					t.Fatalf("%s: HTTP %d %s", tt.endpoint, status, body)
				}
			}
			sub := subscribe(t, s, "regal", "NEWLINE_JSON")
			waitSubscribed(t, s, 1)
			var events [][]byte
			for i, n := range names {
				events = append(events, event(n, i))
			}
			must(t, s.Publish(tenant, events...))
			for i, want := range tt.want {
				got := sub.nextEvent(t)
				if !strings.Contains(got, `"event":"`+want+`"`) {
					t.Fatalf("event %d: %s, want %s", i, got, want)
				}
				if _, _, seq := decode(t, got); seq != int64(i+1) {
					t.Errorf("event %d has sequenceId %d, want %d (no gaps)", i, seq, i+1)
				}
			}
		})
	}
}

func TestFaultControls_reject_bad_values(t *testing.T) {
	s := startDouble(t, withControl)
	for _, path := range []string{
		"/_double/stall?tenant=" + tenant + "&for=soon",
		"/_double/stall?tenant=" + tenant + "&for=-1s",
		"/_double/idle-heartbeat?mode=loud",
		"/_double/ordering?reorder=2",
		"/_double/ordering?drop=x",
		"/_double/rotate-token",
	} {
		if status, _ := control(t, s, http.MethodPost, path, ""); status != http.StatusBadRequest {
			t.Errorf("POST %s: HTTP %d, want 400", path, status)
		}
	}
	if status, _ := control(t, s, http.MethodPost, "/_double/reset?tenant=nobody", ""); status != http.StatusNotFound {
		t.Errorf("reset of an unknown tenant: HTTP %d, want 404", status)
	}
}

func TestSendHeartbeat_writes_a_clientcheck_now(t *testing.T) {
	tests := []struct {
		name   string
		format string
		send   func(t *testing.T, s *Server)
	}{
		{"go_control_json", "NEWLINE_JSON", func(_ *testing.T, s *Server) { s.SendHeartbeat(tenant) }},
		{"go_control_xml", "XML", func(_ *testing.T, s *Server) { s.SendHeartbeat(tenant) }},
		{"control_endpoint", "NEWLINE_JSON", func(t *testing.T, s *Server) {
			if status, body := control(t, s, http.MethodPost, "/_double/heartbeat?tenant="+tenant, ""); status != http.StatusNoContent {
				t.Fatalf("heartbeat: HTTP %d %s", status, body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, func(c *Config) { c.Control, c.ReplayLast = true, 1 })
			sub := subscribe(t, s, "regal", tt.format)
			waitSubscribed(t, s, 1)
			must(t, s.Publish(tenant, event("InteractionCreated", 1)))
			created := sub.next(t)
			tt.send(t, s)
			beat := sub.next(t)
			if _, err := sapi.Decode([]byte(beat), tenant, "regal", time.Now()); !errors.Is(err, sapi.ErrHeartbeat) {
				t.Fatalf("got %s (%v), want a ClientCheck", beat, err)
			}
			if !strings.Contains(beat, "regal") {
				t.Errorf("heartbeat %s does not name its subscription", beat)
			}

			// A heartbeat is not an event: neither counted nor replayed.
			s.Cut(tenant)
			if err := sub.waitEnd(t); err != nil {
				t.Fatalf("cut: %v", err)
			}
			again := subscribe(t, s, "regal", tt.format)
			if got := again.next(t); got != created {
				t.Fatalf("replayed %s, want the last event %s", got, created)
			}
			poll.Until(t, "the event and its replay written", func() bool { return s.Stats().Written >= 2 }) // counted after the write returned
			if st := s.Stats().Tenants[tenant]; st.Published != 1 || st.Written != 2 {
				t.Errorf("stats %+v, want 1 published and 2 written (the event and its replay)", st)
			}
		})
	}
}

func TestSendHeartbeat_waits_out_a_stall(t *testing.T) {
	s := startDouble(t, nil)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	s.Stall(tenant, 0)
	s.SendHeartbeat(tenant)
	sub.expectSilence(t, 100*time.Millisecond)
	s.Unstall(tenant)
	if got := sub.next(t); !strings.Contains(got, "ClientCheck") {
		t.Fatalf("after the stall got %s, want the heartbeat", got)
	}
}
