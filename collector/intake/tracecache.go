package intake

import "github.com/ccbridge/bridge/internal/memo"

// traceCache remembers the traceparent of recently seen interactions so
// that most events find their interaction's trace without asking Redis.
// Interactions in use stay, idle ones go (memo.Cache's generations).
//
// Interactions are held by a digest of their id and traceparents in
// fixed-size arrays, so the cache holds no pointers (see package memo).
// Two ids sharing a digest (about 2^-128 per pair) would put one
// interaction's events in the other's trace.
type traceCache struct {
	digests memo.Digester
	entries *memo.Cache[memo.Digest, storedTraceparent]
}

// storedTraceparent is a traceparent of at most maxTraceparentLen bytes
// (W3C's version 00 has 55); a longer one is not cached.
type storedTraceparent struct {
	b [maxTraceparentLen]byte
	n uint8
}

const maxTraceparentLen = 63

// traceCacheSize is the interactions a tenant's admitter remembers: at
// 1,000 events/s (about 150 new interactions a second) the last minute's
// worth, which holds most interactions still talking. An older one costs
// a Redis read (batched) when it speaks again. About 270 bytes each (2.7
// MB in a heap profile at 1,000 events/s: each generation's map is made
// for its full share), bounded instead of growing for the first quarter
// hour of a busy day.
const traceCacheSize = 10_000

func newTraceCache(max int) *traceCache {
	return &traceCache{digests: memo.NewDigester(),
		entries: memo.New[memo.Digest, storedTraceparent](max, memo.HashDigest)}
}

// has reports whether id's traceparent is remembered, without making a
// string of it.
func (c *traceCache) has(id string) bool {
	_, ok := c.entries.Get(c.digests.Of(id))
	return ok
}

func (c *traceCache) get(id string) (string, bool) {
	tp, ok := c.entries.Get(c.digests.Of(id))
	if !ok {
		return "", false
	}
	return string(tp.b[:tp.n]), true
}

func (c *traceCache) put(id, traceparent string) {
	if len(traceparent) > maxTraceparentLen {
		return
	}
	tp := storedTraceparent{n: uint8(len(traceparent))}
	copy(tp.b[:], traceparent)
	c.entries.Add(c.digests.Of(id), tp)
}
