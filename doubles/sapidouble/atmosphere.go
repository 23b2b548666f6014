package sapidouble

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// IdleHeartbeat is the padding Atmosphere's HeartbeatInterceptor writes to
// a stream that has been idle for Config.IdleHeartbeatInterval.
type IdleHeartbeat string

// Idle heartbeat paddings.
const (
	// IdleHeartbeatOff writes nothing to idle streams.
	IdleHeartbeatOff IdleHeartbeat = ""
	// IdleHeartbeatX writes "X", as Atmosphere 2.4.x does.
	IdleHeartbeatX IdleHeartbeat = "X"
	// IdleHeartbeatSpace writes a space, as older Atmosphere versions do.
	IdleHeartbeatSpace IdleHeartbeat = " "
)

// defaultIdleHeartbeatInterval is Atmosphere's heartbeat period.
const defaultIdleHeartbeatInterval = 60 * time.Second

// ParseIdleHeartbeat reads "off", "x" or "space".
func ParseIdleHeartbeat(s string) (IdleHeartbeat, error) {
	switch strings.ToLower(s) {
	case "", "off":
		return IdleHeartbeatOff, nil
	case "x":
		return IdleHeartbeatX, nil
	case "space", "whitespace":
		return IdleHeartbeatSpace, nil
	}
	return "", fmt.Errorf("idle heartbeat must be off, x or space, got %q", s)
}

// SetIdleHeartbeat switches the idle padding of streams opened from now on.
func (s *Server) SetIdleHeartbeat(h IdleHeartbeat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.idleHeartbeat = h
}

func (s *Server) idleHeartbeat() IdleHeartbeat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.idleHeartbeat
}

// wantsProtocol reports whether a request asks for Atmosphere's
// JavaScriptProtocol handshake: X-atmo-protocol=true and
// X-Atmosphere-tracking-id=0, as query parameters or headers.
func wantsProtocol(r *http.Request) bool {
	return strings.EqualFold(atmosphereParam(r, "X-atmo-protocol"), "true") &&
		atmosphereParam(r, "X-Atmosphere-tracking-id") == "0"
}

// atmosphereParam reads an X-Atmosphere-* value from the query, where
// Atmosphere also looks, or else from the headers.
func atmosphereParam(r *http.Request, name string) string {
	if v := r.URL.Query().Get(name); v != "" {
		return v
	}
	return r.Header.Get(name)
}

// handshake is the protocol's first message,
// "<uuid>|<heartbeatIntervalMs>|<heartbeatPadding>|".
func handshake(r *rand.Rand, interval time.Duration, padding IdleHeartbeat) []byte {
	if padding == IdleHeartbeatOff {
		padding = IdleHeartbeatX
	}
	const hex = "0123456789abcdef"
	id := make([]byte, 36)
	for i := range id {
		switch i {
		case 8, 13, 18, 23:
			id[i] = '-'
		case 14:
			id[i] = '4'
		default:
			id[i] = hex[r.IntN(16)]
		}
	}
	return fmt.Appendf(nil, "%s|%d|%s|", id, interval.Milliseconds(), padding)
}
