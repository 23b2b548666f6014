package regaldouble

import "time"

// tokenBucket is one API key's rate limit: it holds up to burst tokens,
// gains rate tokens per second, and a request takes one. A rejected
// request takes none.
type tokenBucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// take reports whether a request at now may pass, taking a token if so.
func (b *tokenBucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// allow applies the rate limit of the key with index keyIndex at now. Each
// key has its own bucket, full when first used. The caller holds s.mu.
func (s *Server) allow(keyIndex int, now time.Time) bool {
	if s.cond.rateLimit == 0 {
		return true
	}
	b, ok := s.buckets[keyIndex]
	if !ok {
		burst := float64(s.cond.burst())
		b = &tokenBucket{rate: s.cond.rateLimit, burst: burst, tokens: burst, last: now}
		if s.buckets == nil {
			s.buckets = make(map[int]*tokenBucket)
		}
		s.buckets[keyIndex] = b
	}
	return b.take(now)
}
