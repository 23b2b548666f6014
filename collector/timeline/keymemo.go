package timeline

import (
	"sync"
	"time"

	"github.com/ccbridge/bridge/internal/memo"
)

// What the store leaves out of a batch when it wrote it recently (see
// keyMemo): Redis shares one thread with delivery, so commands that change
// nothing are not sent.
const (
	// maxExpiryRefresh bounds how long a key's TTL is trusted before a
	// write sets it again.
	maxExpiryRefresh = 5 * time.Minute
	// minExpiryRefresh is the least: it is also the slack a batch has to
	// reach Redis after reading the clock (the recorder's WriteTimeout is
	// 5 s).
	minExpiryRefresh = 30 * time.Second
	// trimInterval is how often an index is trimmed at most. Listings do
	// not depend on it: they skip members past retention.
	trimInterval = time.Minute
	// keyMemoSize bounds the keys remembered (5.4 MB in a heap profile at
	// 1,000 events/s, about 170 bytes a key: maps of fixed-size entries,
	// each generation's made for its full share; a key is remembered for
	// a minute or two, the span in which an interaction's keys are
	// written). A forgotten key costs one PEXPIRE (and trim) at its next
	// write.
	keyMemoSize = 1 << 15
)

// expiryRefresh is how long a TTL set by the store is trusted: a
// hundredth of the retention, within [minExpiryRefresh, maxExpiryRefresh].
func expiryRefresh(retention time.Duration) time.Duration {
	return min(maxExpiryRefresh, max(minExpiryRefresh, retention/100))
}

// keyTTL is the TTL the store sets: retention plus two refresh intervals.
// A write that leaves the PEXPIRE out comes less than one interval after
// it, and reaches Redis within another (the slack), so the key still
// lives at least the retention after that write.
func keyTTL(retention time.Duration) time.Duration {
	return retention + 2*expiryRefresh(retention)
}

// Marks of keyMarks.has.
const (
	markExpiry uint8 = 1 << iota // expiry is set
	markTrim                     // trim is set
	markHead                     // head is set
	headFirst                    // the summary's first receive time is written
	headLast                     // its last receive time
	headTrace                    // its trace id

	headFields = headFirst | headLast | headTrace
)

// keyMarks is what the store last did to a key, as offsets from
// keyMemo.base (ns).
type keyMarks struct {
	expiry int64 // the TTL was set to keyTTL
	trim   int64 // index members past retention were removed
	head   int64 // summary fields that keep their first value were written (HSETNX)
	has    uint8
}

// keyMemo remembers, for recently written keys, when the store set their
// TTL, trimmed them (indexes) and wrote the summary fields that keep their
// first value, so that a batch leaves out the commands that would change
// nothing. A key is marked only after a pipeline that did it succeeded,
// with the time the batch read before it ran, so a mark is never later
// than what Redis did.
//
// It holds at most keyMemoSize keys; keys in use stay, idle ones go
// (memo.Cache's generations). It holds their digests, not the key strings,
// so it holds no pointers (see package memo); two keys sharing a digest
// (about 2^-128 per pair) would at worst leave one PEXPIRE or trim out.
//
// Safe for concurrent use. Redis removes an index whose trim (or a
// replay) took its last member; the batch that did it clears the key's
// expiry mark, so the next write sets the TTL again. A batch running
// concurrently with it (Store.Record called from several goroutines; the
// recorder uses one) may still leave the PEXPIRE out; the key then has
// no TTL until it is written after a refresh interval.
type keyMemo struct {
	base    time.Time
	refresh time.Duration // how long an expiry or a head mark is trusted
	trimmed time.Duration // how long a trim mark is trusted

	digests memo.Digester

	mu    sync.Mutex // makes a read and the write after it one step
	marks *memo.Cache[memo.Digest, keyMarks]
}

func newKeyMemo(base time.Time, refresh, trimmed time.Duration, size int) *keyMemo {
	return &keyMemo{base: base, refresh: refresh, trimmed: trimmed, digests: memo.NewDigester(),
		marks: memo.New[memo.Digest, keyMarks](size, memo.HashDigest)}
}

// at is t as a keyMarks offset.
func (m *keyMemo) at(t time.Time) int64 { return int64(t.Sub(m.base)) }

// fresh reports whether a mark made at then is younger than within at
// now. A clock that went back makes it stale (a command too many, never
// one too few).
func fresh(now, then int64, within time.Duration) bool {
	age := now - then
	return age >= 0 && age < int64(within)
}

// needs reports what a batch at now must send for key: its PEXPIRE, its
// trim (for indexes), and which head fields (headFirst, headLast,
// headTrace) are not known to be written.
func (m *keyMemo) needs(key string, now time.Time) (expire, trim bool, knownHead uint8) {
	t, id := m.at(now), m.digests.Of(key)
	m.mu.Lock()
	k, ok := m.marks.Get(id)
	m.mu.Unlock()
	if !ok {
		return true, true, 0
	}
	expire = k.has&markExpiry == 0 || !fresh(t, k.expiry, m.refresh)
	trim = k.has&markTrim == 0 || !fresh(t, k.trim, m.trimmed)
	if k.has&markHead != 0 && fresh(t, k.head, m.refresh) {
		knownHead = k.has & headFields
	}
	return expire, trim, knownHead
}

// memoUpdate is what one batch did to one key.
type memoUpdate struct {
	key          string
	expire, trim bool  // the batch set the TTL, trimmed the index
	head         uint8 // head fields the batch wrote
	gone         bool  // the key is no more (emptied): its TTL must be set again
}

// done marks what a batch that read the clock at now did, once Redis
// confirmed it. A mark older than the one held is ignored (batches may
// finish out of order).
func (m *keyMemo) done(now time.Time, updates []memoUpdate) {
	t := m.at(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range updates {
		id := m.digests.Of(u.key)
		k, ok := m.marks.Get(id)
		if u.gone {
			if ok {
				k.has &^= markExpiry | markHead | headFields
				m.marks.Add(id, k)
			}
			continue
		}
		if u.expire && (k.has&markExpiry == 0 || t > k.expiry) {
			k.expiry, k.has = t, k.has|markExpiry
		}
		if u.trim && (k.has&markTrim == 0 || t > k.trim) {
			k.trim, k.has = t, k.has|markTrim
		}
		if u.head != 0 && (k.has&markHead == 0 || t >= k.head) {
			// Fields marked less than a refresh ago stay known: the key
			// has lived since (every write keeps it the retention at
			// least), so they are still there.
			kept := uint8(0)
			if k.has&markHead != 0 && fresh(t, k.head, m.refresh) {
				kept = k.has & headFields
			}
			k.head = t
			k.has = k.has&^headFields | markHead | kept | u.head
		}
		m.marks.Add(id, k)
	}
}

// forget drops every mark: after a failed write the store no longer
// trusts what Redis holds (a failover may have lost writes).
func (m *keyMemo) forget() {
	m.mu.Lock()
	m.marks.Clear()
	m.mu.Unlock()
}

// len is the number of keys remembered.
func (m *keyMemo) len() int { return m.marks.Len() }
