package sapidouble

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialWebSocket opens a WebSocket subscription; it returns the connection
// (nil when refused) and the handshake's HTTP status.
func dialWebSocket(t *testing.T, s *Server, token, query string) (*websocket.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.URL(), "http") +
		strings.Replace(streamPath("ws", "NEWLINE_JSON"), "X-Atmosphere-Transport=streaming", "X-Atmosphere-Transport=websocket", 1) + query
	header := http.Header{"Authorization": {"Basic " + b64(username+":"+token)}}
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header, HTTPClient: &http.Client{Transport: transport}})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if err != nil {
		return nil, status
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn, status
}

// readMessage reads one text message, failing the test on error.
func readMessage(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kind, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("reading a message: %v", err)
	}
	if kind != websocket.MessageText {
		t.Fatalf("got a %v message, want text", kind)
	}
	return string(data)
}

// readEnd reads until the connection ends and returns its close status
// (-1 when it ended without a close frame).
func readEnd(t *testing.T, conn *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the connection did not end")
			}
			return websocket.CloseStatus(err)
		}
	}
}

func TestWebSocket_sends_one_event_per_text_message(t *testing.T) {
	s := startDouble(t, func(c *Config) { c.Padding = true; c.SplitChunks = true })
	conn, status := dialWebSocket(t, s, testToken, "")
	if conn == nil || status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: HTTP %d", status)
	}
	waitSubscribed(t, s, 1)
	must(t, s.Publish(tenant, event("InteractionCreated", 1), event("InteractionQueued", 2)))
	for i, want := range []string{"InteractionCreated", "InteractionQueued"} {
		msg := readMessage(t, conn)
		if !strings.HasPrefix(msg, `{"Interaction":`) || !strings.HasSuffix(msg, "}\n") || strings.Count(msg, `"event"`) != 1 || !strings.Contains(msg, want) {
			t.Fatalf("message %d = %q, want exactly the %s event (no padding, no split)", i, msg, want)
		}
		decode(t, strings.TrimSpace(msg))
	}
}

func TestWebSocket_refuses_bad_credentials_before_upgrading(t *testing.T) {
	s := startDouble(t, nil)
	if conn, status := dialWebSocket(t, s, "wrong", ""); conn != nil || status != http.StatusUnauthorized {
		t.Fatalf("wrong token: connected %v, HTTP %d; want 401", conn != nil, status)
	}
	s.RotateToken(tenant, "")
	if conn, status := dialWebSocket(t, s, testToken, ""); conn != nil || status != http.StatusUnauthorized {
		t.Fatalf("rotated token: connected %v, HTTP %d; want 401", conn != nil, status)
	}
}

func TestWebSocket_stream_endings(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		end    func(s *Server)
		want   websocket.StatusCode
	}{
		{"session_ttl_closes_normally", func(c *Config) { c.SessionTTL = 50 * time.Millisecond }, func(*Server) {}, websocket.StatusNormalClosure},
		{"cut_closes_normally", nil, func(s *Server) { s.Cut(tenant) }, websocket.StatusNormalClosure},
		{"reset_drops_without_close_frame", nil, func(s *Server) { s.Reset(tenant) }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startDouble(t, tt.config)
			conn, _ := dialWebSocket(t, s, testToken, "")
			if conn == nil {
				t.Fatal("upgrade refused")
			}
			waitSubscribed(t, s, 1)
			tt.end(s)
			if got := readEnd(t, conn); got != tt.want {
				t.Fatalf("close status %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWebSocket_atmosphere_handshake_and_length_prefix(t *testing.T) {
	s := startDouble(t, func(c *Config) { c.AtmosphereProtocol = true; c.IdleHeartbeat = IdleHeartbeatX })
	conn, _ := dialWebSocket(t, s, testToken, "&X-atmo-protocol=true&X-Atmosphere-tracking-id=0&X-Atmosphere-TrackMessageSize=true")
	if conn == nil {
		t.Fatal("upgrade refused")
	}
	if got := readMessage(t, conn); !regexp.MustCompile(`^45\|[0-9a-f-]{36}\|60000\|X\|$`).MatchString(got) {
		t.Fatalf("first message %q, want the length-prefixed handshake", got)
	}
	waitSubscribed(t, s, 1)
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	if got := readMessage(t, conn); !regexp.MustCompile(`^\d+\|\{"Interaction"`).MatchString(got) {
		t.Fatalf("event message %q, want a length-prefixed event", got)
	}
}
