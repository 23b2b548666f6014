// Package sapidouble is a local stand-in for the 8x8 Contact Center
// Streaming API (legacy SAPI): a real HTTP server that streams events the
// way 8x8 does, with the behaviours a client must survive.
//
// It serves GET /api/streaming/v1/clientconnect/subscribe/TenantUpdates-{tenant}-{subsId}
// (and the older /api/sapi/atmosphere/subscribe/…) with HTTP Basic auth
// (or ?token=Basic+<b64>), at most MaxSubscriptionsPerTenant concurrent
// subscriptions per tenant, NEWLINE_JSON, JSON, XML and NEWLINE_XML output,
// ClientCheck heartbeats, a per-subsId buffer replayed on reconnect, msgInfo
// stamping with a per-instance sequence, WebSocket on the same route when
// the request asks for X-Atmosphere-Transport=websocket (one event per text
// message), and Atmosphere quirks (initial
// padding, "<len>|" prefixes on request, the "<uuid>|<ms>|<padding>|"
// protocol handshake, "X" or whitespace idle padding, random chunk
// splitting).
//
// Tests drive it with Publish, PublishRaw, Cut, Failover, ReplayLast,
// Subscribers, WaitSubscribed and Stats, and inject faults with Reset
// (abrupt TCP reset), Stall/Unstall (silence, no heartbeat), SendHeartbeat
// (a ClientCheck on demand, for tests that pace heartbeats themselves),
// RotateToken/RestoreToken (401 for the old token), SetIdleHeartbeat and
// SetOrderingFaults (adjacent reordering, dropped optional events). With Config.Control, another
// process drives it over HTTP under ControlPrefix (see control.go).
package sapidouble
