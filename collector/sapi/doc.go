// Package sapi reads the 8x8 Contact Center Streaming API (SAPI, legacy
// Atmosphere HTTP streaming) for one tenant subscription and turns what it
// reads into normalized events.
//
// The pipeline has three stages, each usable on its own:
//
//   - Client keeps one long-lived streaming GET open, reconnecting with the
//     same subscription id after the server's 60-minute cut, on errors and
//     when the stream goes silent, so that 8x8's per-subscription cache
//     replays what was missed. With Config.Transport "websocket" it opens
//     the same subscription over WebSocket instead (ws(s)://, one event per
//     text message), with the same reconnects, backoff and idle watchdog.
//   - Framer cuts the byte stream into event frames. HTTP chunk boundaries
//     are not event boundaries, and the stream may carry Atmosphere padding,
//     "X" heartbeats and "<len>|" prefixes.
//   - Decode turns one frame into an eventv1.Event, tolerating the type
//     instability of SAPI payloads and computing the deduplication key.
//
// # Deduplication rule
//
// SAPI delivers at least once: the per-subscription cache replays events
// around a reconnect, an 8x8 failover re-sends events stamped with a new
// msgInfo (new instanceId, restarted sequenceId), and a second subscription
// sees every event again. msgInfo therefore cannot identify an event, but
// the event's own content can: it carries the interaction or agent, the
// event name, the state and a timestamp.
//
// Event.dedup_key is the first 128 bits, as 32 lowercase hex digits, of the
// SHA-256 of a version tag, the tenant, the root key and a canonical form of
// the event object with its msgInfo removed. The canonical form sorts object
// keys recursively, keeps array order (attachedDatum order included, a bare
// single attachedDatum object counting as a one-element array) and writes
// every scalar as its text, so a number keeps its literal ("5515557212") and
// 1000 equals "1000". The subscription id is not part of the key.
//
// The same event replayed, failed over or seen on another subscription thus
// gets the same key, while two events that differ in any field (another
// agent, another interactionEventTS) get different keys. Two events that
// are identical in every field, which SAPI gives no means to tell apart, share
// a key.
package sapi
