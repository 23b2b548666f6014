// Package memo remembers values in bounded memory: the results of
// deterministic functions the dispatcher computes again and again (an
// interaction's events all carry one phone number), and what the collector
// knows of recent interactions (their trace, their dimensions, the Redis
// keys it wrote).
//
// A Cache whose keys and values hold no pointers (digests, fixed-size
// arrays) is a few large allocations the garbage collector does not scan;
// a long-lived cache of strings, each allocated among a busy process's
// short-lived objects, keeps whole spans of them resident instead.
package memo

import (
	"hash/maphash"
	"sync"
)

// shards splits a Cache so that concurrent handlers rarely wait on one
// another's lock.
const shards = 16

// Cache maps keys to values, holding at most its capacity of entries. It
// is safe for concurrent use.
//
// Each shard keeps two generations of entries. When the current one is
// full it becomes the previous one and the old previous one is dropped; a
// hit in the previous generation is copied into the current one. So keys in
// use survive, keys no longer asked for go within two rotations, and memory
// never grows past the capacity.
type Cache[K comparable, V any] struct {
	seed   maphash.Seed
	hash   func(maphash.Seed, K) uint64
	limit  int // entries per generation of a shard
	shards []shard[K, V]
}

type shard[K comparable, V any] struct {
	mu        sync.Mutex
	cur, prev map[K]V
}

// New returns a Cache holding at most capacity entries (at least 2). hash
// spreads keys over the shards; maphash.String suits string keys.
func New[K comparable, V any](capacity int, hash func(maphash.Seed, K) uint64) *Cache[K, V] {
	capacity = max(capacity, 2)
	n := shards
	if capacity < 2*n {
		n = 1
	}
	return &Cache[K, V]{seed: maphash.MakeSeed(), hash: hash, limit: capacity / (2 * n), shards: make([]shard[K, V], n)}
}

func (c *Cache[K, V]) shard(k K) *shard[K, V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[c.hash(c.seed, k)%uint64(len(c.shards))]
}

// Get returns the value stored for k, if any.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.cur[k]; ok {
		return v, true
	}
	v, ok := s.prev[k]
	if ok {
		s.add(k, v, c.limit)
	}
	return v, ok
}

// Add stores v for k.
func (c *Cache[K, V]) Add(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	s.add(k, v, c.limit)
	s.mu.Unlock()
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.cur, s.prev = nil, nil
		s.mu.Unlock()
	}
}

// Len is the number of entries held.
func (c *Cache[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.prev)
		s.mu.Unlock()
	}
	return n
}

func (s *shard[K, V]) add(k K, v V, limit int) {
	if _, ok := s.cur[k]; !ok && len(s.cur) >= limit {
		s.prev, s.cur = s.cur, nil
	}
	if s.cur == nil {
		s.cur = make(map[K]V, limit)
	}
	s.cur[k] = v
}
