package memo

import "hash/maphash"

// Digest is a 128-bit digest of strings: a Cache key that holds no
// pointer. Two different inputs share one with a probability of about
// 2^-128 per pair, so a cache keyed by digests treats them as one key;
// use them where that is harmless at such odds.
type Digest [2]uint64

// Digester makes Digests with seeds of its own (random per process, so
// digests are not stable across restarts: never store them). Its zero
// value is not usable; use NewDigester. Safe for concurrent use.
type Digester struct{ seeds [2]maphash.Seed }

// NewDigester returns a Digester with new random seeds.
func NewDigester() Digester {
	return Digester{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// Of digests parts as one sequence: ("a", "bc") and ("ab", "c") differ.
func (d Digester) Of(parts ...string) Digest {
	var out Digest
	for i, seed := range d.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		for _, p := range parts {
			h.WriteString(p)
			h.WriteByte(0)
		}
		out[i] = h.Sum64()
	}
	return out
}

// HashDigest is the hash for New of a Cache keyed by Digests: a digest is
// already random, so it is its own hash.
func HashDigest(_ maphash.Seed, d Digest) uint64 { return d[0] }
