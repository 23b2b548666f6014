package translate

import (
	"hash/maphash"

	"github.com/ccbridge/bridge/internal/memo"
	"github.com/ccbridge/bridge/internal/phone"
)

// phoneCacheCapacity bounds the numbers a Translator remembers (about a
// megabyte): several times the calls a busy contact center has in progress,
// each of whose events carries the same number.
const phoneCacheCapacity = 8192

// phoneCache remembers phone.Parse's results, failures included: parsing
// (libphonenumber's regular expressions) is the costliest step of
// Translate, and its result depends only on the input and the library's
// built-in metadata.
type phoneCache struct {
	results *memo.Cache[phoneKey, phoneResult]
}

type phoneKey struct{ raw, region string }

type phoneResult struct {
	number phone.Number
	err    error
}

func newPhoneCache(capacity int) *phoneCache {
	return &phoneCache{results: memo.New[phoneKey, phoneResult](capacity,
		func(seed maphash.Seed, k phoneKey) uint64 { return maphash.String(seed, k.raw) })}
}

// parse is phone.Parse(raw, region), computed once per number while the
// number stays in use.
func (c *phoneCache) parse(raw, region string) (phone.Number, error) {
	k := phoneKey{raw: raw, region: region}
	if r, ok := c.results.Get(k); ok {
		return r.number, r.err
	}
	p, err := phone.Parse(raw, region)
	c.results.Add(k, phoneResult{number: p, err: err})
	return p, err
}
