package collector

import "container/list"

// traceCache remembers the traceparent of recently seen interactions so
// that most events find their interaction's trace without asking Redis.
// It is used by one goroutine (a tenant's admitter) and is not locked.
type traceCache struct {
	max   int
	order *list.List // front = most recent; values are cacheEntry
	byID  map[string]*list.Element
}

type cacheEntry struct{ id, traceparent string }

// traceCacheSize is the interactions a tenant's admitter remembers: at
// 1,000 events/s (about 150 new interactions a second) the last minute's
// worth, which holds most interactions still talking. An older one costs
// a Redis read (batched) when it speaks again. About 250 bytes each, so
// the cache stays near 2.5 MB instead of growing for the first quarter
// hour of a busy day.
const traceCacheSize = 10_000

func newTraceCache(max int) *traceCache {
	return &traceCache{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

func (c *traceCache) get(id string) (string, bool) {
	el, ok := c.byID[id]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(cacheEntry).traceparent, true
}

func (c *traceCache) put(id, traceparent string) {
	if el, ok := c.byID[id]; ok {
		el.Value = cacheEntry{id, traceparent}
		c.order.MoveToFront(el)
		return
	}
	c.byID[id] = c.order.PushFront(cacheEntry{id, traceparent})
	if c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byID, old.Value.(cacheEntry).id)
	}
}
