package sapidouble

import (
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/ccbridge/bridge/internal/secret"
)

// faultState holds the faults switched on at run time; guarded by
// Server.mu.
type faultState struct {
	// stalledUntil is when each stalled tenant's streams speak again;
	// stallForever means until Unstall.
	stalledUntil map[string]time.Time
	// tokens are rotated tokens: a tenant listed here accepts only this
	// token (none when it is zero) instead of its configured one.
	tokens map[string]secret.Secret
	// idleHeartbeat is the padding written to an idle stream.
	idleHeartbeat IdleHeartbeat
	// reorder and drop are the ordering fault probabilities.
	reorder, drop float64
	// order drives the ordering faults, seeded by Config.Seed.
	order *rand.Rand
}

// stallForever marks a stall that lasts until Unstall.
var stallForever = time.Unix(1<<62, 0)

func newFaultState(cfg Config) faultState {
	return faultState{
		stalledUntil:  map[string]time.Time{},
		tokens:        map[string]secret.Secret{},
		idleHeartbeat: cfg.IdleHeartbeat,
		reorder:       cfg.ReorderAdjacent,
		drop:          cfg.DropOptional,
		order:         rand.New(rand.NewPCG(uint64(cfg.Seed), 0x0fde7)),
	}
}

// Reset aborts the tenant's open streams as a network failure would: the
// connection is closed with SO_LINGER 0 (a TCP RST) and without the
// chunked encoding's final empty chunk. Events not yet written stay
// buffered for each subsId and are replayed when it reconnects.
func (s *Server) Reset(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[tenant]; t != nil {
		now := time.Now()
		for _, sub := range t.subs {
			if sub.live != nil {
				sub.live.reset.Store(true)
				sub.detach(now)
			}
		}
		s.notifyChanged()
	}
}

// Stall keeps the tenant's streams open but silent (no events, no
// ClientCheck, no idle padding) for d, or until Unstall when d is 0 or
// less. Events published meanwhile are buffered and written when the stall
// ends. Streams opened during the stall are silent too.
func (s *Server) Stall(tenant string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until := stallForever
	if d > 0 {
		until = time.Now().Add(d)
	}
	s.faults.stalledUntil[tenant] = until
	s.wakeStreams(tenant)
}

// Unstall ends a stall at once.
func (s *Server) Unstall(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults.stalledUntil, tenant)
	s.wakeStreams(tenant)
}

// stallLeft says whether the tenant's streams are stalled and for how
// long still (0 for a stall until Unstall).
func (s *Server) stallLeft(tenant string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.faults.stalledUntil[tenant]
	switch {
	case !ok:
		return 0, false
	case until.Equal(stallForever):
		return 0, true
	}
	left := time.Until(until)
	if left <= 0 {
		delete(s.faults.stalledUntil, tenant)
		return 0, false
	}
	return left, true
}

// RotateToken simulates a new Data Request Token generated in
// Configuration Manager: from now on the tenant accepts only token (no
// token at all when it is zero), and every request with the old one gets
// 401. Open streams are not cut; their next reconnect fails.
func (s *Server) RotateToken(tenant string, token secret.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.tokens[tenant] = token
}

// RestoreToken makes the tenant accept its configured token again.
func (s *Server) RestoreToken(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults.tokens, tenant)
}

// tokenOf returns the token the tenant accepts now.
func (s *Server) tokenOf(tenant string) secret.Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token, rotated := s.faults.tokens[tenant]; rotated {
		return token
	}
	return s.cfg.Tenants[tenant].Token
}

// wakeStreams wakes every live stream of a tenant; s.mu held.
func (s *Server) wakeStreams(tenant string) {
	if t := s.tenants[tenant]; t != nil {
		for _, sub := range t.subs {
			if sub.live != nil {
				select {
				case sub.live.wake <- struct{}{}:
				default:
				}
			}
		}
	}
}

// resetConnection takes the connection from the HTTP server and closes it
// with SO_LINGER 0, so the peer sees a reset instead of a clean end.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
