package translate

import (
	"hash/maphash"

	"github.com/ccbridge/bridge/internal/memo"
)

// phoneCacheCapacity bounds the numbers a Translator remembers (about a
// megabyte): several times the calls a busy contact center has in progress,
// each of whose events carries the same number.
const phoneCacheCapacity = 8192

// phoneCache remembers NormalizePhone's results, failures included: parsing
// (libphonenumber's regular expressions) is the costliest step of
// Translate, and its result depends only on the input and the library's
// built-in metadata.
type phoneCache struct {
	results *memo.Cache[phoneKey, phoneResult]
}

type phoneKey struct{ raw, region string }

type phoneResult struct {
	e164 string
	err  error
}

func newPhoneCache(capacity int) *phoneCache {
	return &phoneCache{results: memo.New[phoneKey, phoneResult](capacity,
		func(seed maphash.Seed, k phoneKey) uint64 { return maphash.String(seed, k.raw) })}
}

// normalize is NormalizePhone(raw, region), computed once per number while
// the number stays in use.
func (c *phoneCache) normalize(raw, region string) (string, error) {
	k := phoneKey{raw: raw, region: region}
	if r, ok := c.results.Get(k); ok {
		return r.e164, r.err
	}
	e164, err := NormalizePhone(raw, region)
	c.results.Add(k, phoneResult{e164: e164, err: err})
	return e164, err
}
