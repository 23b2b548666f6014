package sapidouble

import (
	"net/http"
	"time"

	"github.com/ccbridge/bridge/internal/secret"
)

// Credentials are what a tenant's subscriber must send as HTTP Basic auth.
type Credentials struct {
	// Username is the Basic auth user (8x8 normally shows the tenant name).
	Username string
	// Token is the Basic auth password (the Data Request Token).
	Token secret.Secret
}

// Config shapes the double. Zero values of Addr, SessionTTL, Retention,
// MaxSubscriptionsPerTenant and LimitStatus take their defaults in New;
// HeartbeatInterval 0 means no heartbeat.
type Config struct {
	// Addr is the listen address; default "127.0.0.1:0" (a free port).
	Addr string
	// Tenants maps each tenant name to the credentials it accepts.
	Tenants map[string]Credentials
	// HeartbeatInterval is how often each stream gets a ClientCheck; 0 = off.
	HeartbeatInterval time.Duration
	// SessionTTL is how long a stream lasts before the server ends it
	// cleanly; default 60 minutes, as 8x8's.
	SessionTTL time.Duration
	// Retention is how long a disconnected subscription keeps buffering
	// events for its subsId; default 2 hours, as 8x8's.
	Retention time.Duration
	// MaxSubscriptionsPerTenant limits concurrent streams; default 3.
	MaxSubscriptionsPerTenant int
	// LimitStatus answers a subscription over the limit; default 429.
	LimitStatus int
	// Padding writes Atmosphere's 2048 spaces and a newline first.
	Padding bool
	// SplitChunks coalesces pending events into one buffer and writes it in
	// pieces cut at random points, flushing after each.
	SplitChunks bool
	// Seed drives the chunk splitting.
	Seed int64
	// ReplayLast re-sends, on reconnect, the last N events delivered on the
	// subsId before the disconnect (SAPI delivers at least once).
	ReplayLast int
	// IdleHeartbeat is the Atmosphere padding ("X" or a space) written to a
	// stream idle for IdleHeartbeatInterval; IdleHeartbeatOff (default)
	// writes none. SetIdleHeartbeat changes it at run time.
	IdleHeartbeat IdleHeartbeat
	// IdleHeartbeatInterval is how long a stream stays idle before the idle
	// padding; default 60 s, as Atmosphere's. It is also the interval the
	// protocol handshake announces.
	IdleHeartbeatInterval time.Duration
	// AtmosphereProtocol answers a request carrying X-atmo-protocol=true and
	// X-Atmosphere-tracking-id=0 with the handshake
	// "<uuid>|<heartbeatIntervalMs>|<heartbeatPadding>|" as the first message
	// (length-prefixed when X-Atmosphere-TrackMessageSize=true).
	AtmosphereProtocol bool
	// ReorderAdjacent is the probability (0–1) that Publish swaps adjacent
	// events; 0 (default) keeps the order. See SetOrderingFaults.
	ReorderAdjacent float64
	// DropOptional is the probability (0–1) that Publish drops an optional
	// event; 0 (default) drops none. See SetOrderingFaults.
	DropOptional float64
	// Control serves the HTTP control API under ControlPrefix, so another
	// process can publish events and inject faults. It has no
	// authentication: turn it on only on a loopback address.
	Control bool
}

// DefaultConfig returns 8x8's timings: heartbeat every 30 s, 60-minute
// sessions, 2-hour retention, 3 subscriptions per tenant.
func DefaultConfig() Config {
	c := Config{HeartbeatInterval: 30 * time.Second}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 60 * time.Minute
	}
	if c.Retention == 0 {
		c.Retention = 2 * time.Hour
	}
	if c.MaxSubscriptionsPerTenant == 0 {
		c.MaxSubscriptionsPerTenant = 3
	}
	if c.IdleHeartbeatInterval == 0 {
		c.IdleHeartbeatInterval = defaultIdleHeartbeatInterval
	}
	if c.LimitStatus == 0 {
		c.LimitStatus = http.StatusTooManyRequests
	}
}
