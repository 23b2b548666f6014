package sapi

import (
	"sync/atomic"
	"time"
)

// State is where the Client's read loop is.
type State int32

const (
	// StateIdle: not started yet.
	StateIdle State = iota
	// StateConnecting: a request is on its way, no response yet.
	StateConnecting
	// StateStreaming: connected and reading events.
	StateStreaming
	// StateBackoff: waiting before reconnecting after an error.
	StateBackoff
	// StateUnauthorized: 8x8 answered 401 or 403; the client keeps probing
	// every ReconnectMax and stays in this state until a probe connects.
	// Needs an operator: the token was probably regenerated.
	StateUnauthorized
	// StateStopped: shut down.
	StateStopped
)

var stateNames = [...]string{"idle", "connecting", "streaming", "backoff", "unauthorized", "stopped"}

// String returns the state's lowercase name, for logs and metrics.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Stats is a snapshot of the Client's counters, for health checks and
// metrics.
type Stats struct {
	// State is where the read loop is now.
	State State
	// Connects counts streams opened (HTTP 200).
	Connects uint64
	// Reconnects counts connection attempts after the first, whatever ended
	// the previous stream.
	Reconnects uint64
	// Frames counts frames handed to the handler, oversized ones excluded.
	Frames uint64
	// Oversized counts frames rejected for exceeding MaxEventBytes.
	Oversized uint64
	// HandlerErrors counts frames whose handler returned an error.
	HandlerErrors uint64
	// LastFrameAt is when the last frame arrived; zero if none yet.
	LastFrameAt time.Time
	// LastHTTPStatus is the status of the latest response; 0 if none yet.
	LastHTTPStatus int
	// Unauthorized counts 401/403 answers (a rotated token).
	Unauthorized uint64
	// Stalls counts streams dropped by the idle watchdog.
	Stalls uint64
	// Heartbeats counts heartbeats read: ClientCheck messages and "X"
	// padding.
	Heartbeats uint64
	// StallTimeout is how long the stream may stay silent before it is
	// dropped: MissedHeartbeats learned heartbeat intervals within
	// [IdleTimeoutMin, IdleTimeout], or IdleTimeout until an interval is
	// learned.
	StallTimeout time.Duration
	// PossibleGaps counts reconnections after an outage longer than the
	// replay horizon: events of that outage may be lost for good.
	PossibleGaps uint64
	// DisconnectedSince is when the last stream ended while no stream is
	// open; zero while streaming or before the first stream.
	DisconnectedSince time.Time
}

// counters are the live, atomically updated values behind Stats.
type counters struct {
	state          atomic.Int32
	connects       atomic.Uint64
	reconnects     atomic.Uint64
	frames         atomic.Uint64
	oversized      atomic.Uint64
	handlerErrors  atomic.Uint64
	lastFrameNanos atomic.Int64
	lastHTTPStatus atomic.Int32
	unauthorized   atomic.Uint64
	stalls         atomic.Uint64
	heartbeatCount atomic.Uint64
	// stallTimeoutNanos is the stall watchdog's current timeout.
	stallTimeoutNanos atomic.Int64
	possibleGaps      atomic.Uint64
	// disconnectedNanos is when the last stream ended, 0 while streaming.
	disconnectedNanos atomic.Int64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		State:          State(c.state.Load()),
		Connects:       c.connects.Load(),
		Reconnects:     c.reconnects.Load(),
		Frames:         c.frames.Load(),
		Oversized:      c.oversized.Load(),
		HandlerErrors:  c.handlerErrors.Load(),
		LastHTTPStatus: int(c.lastHTTPStatus.Load()),
		Unauthorized:   c.unauthorized.Load(),
		Stalls:         c.stalls.Load(),
		Heartbeats:     c.heartbeatCount.Load(),
		StallTimeout:   time.Duration(c.stallTimeoutNanos.Load()),
		PossibleGaps:   c.possibleGaps.Load(),
	}
	if n := c.lastFrameNanos.Load(); n != 0 {
		s.LastFrameAt = time.Unix(0, n)
	}
	if n := c.disconnectedNanos.Load(); n != 0 {
		s.DisconnectedSince = time.Unix(0, n)
	}
	return s
}
