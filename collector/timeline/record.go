package timeline

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
)

// Record writes changes in one Redis pipeline, then publishes them to the
// hub. Changes of events the timeline does not keep (agent events) are
// ignored. Writing the same change twice leaves the same state, counters
// and history aside: a batch written again after an error may count a
// sighting or an attempt twice.
//
// Replayed changes take a second round trip, to drop interactions left
// without dead letters from the dead-letter index; if that fails the
// index keeps them, and listings skip them (they verify each member).
func (s *Store) Record(ctx context.Context, changes []Change) error {
	b := s.newBatch(ctx)
	for i := range changes {
		b.add(&changes[i])
	}
	if len(b.written) == 0 {
		return nil
	}
	b.flush()
	if err := execPipeline(ctx, b.pipe); err != nil {
		s.memo.forget()
		return fmt.Errorf("record %d timeline changes: %w", len(b.written), err)
	}
	for i, c := range b.pexpire {
		if c != nil && !c.Val() { // the key is gone (a trim emptied it): its next write sets the TTL
			b.memo[i].expire, b.memo[i].gone = false, true
		}
	}
	s.memo.done(b.now, b.memo)
	if len(b.replayed) > 0 {
		_ = s.pruneDeadIndex(ctx, b.replayed) // best effort, see above
	}
	pub := make([]Published, len(b.written))
	for i, w := range b.written {
		pub[i] = Published{Change: *w.change, Dims: w.dims}
		pub[i].Payload = nil
		pub[i].Sightings = int(w.sightings.val())
		pub[i].TotalAttempts = int(w.attempts.val())
	}
	s.hub.Publish(pub)
	return nil
}

// batch builds one pipeline of changes. Writes to one summary hash are
// merged (one HSET for all its fields), and what Redis already has is
// left out: TTLs set and indexes trimmed recently, summary fields that
// keep their first value once written (see keyMemo).
type batch struct {
	s        *Store
	ctx      context.Context
	pipe     redis.Pipeliner
	now      time.Time
	cutoff   int64                  // index members older than this are trimmed
	hashes   []*hashWrites          // summaries, in the order first written
	hashByID map[string]*hashWrites // by summary key
	zaddGT   map[string][]redis.Z   // interaction indexes: latest activity wins
	zaddNX   map[string][]redis.Z   // event indexes, and interactions seen only as duplicates
	replayed map[[2]string]struct{} // (tenant, interaction) with a replayed event
	written  []writtenChange
	memo     []memoUpdate     // what to remember once the pipeline succeeded
	pexpire  []*redis.BoolCmd // memo[i]'s PEXPIRE, if sent
}

type writtenChange struct {
	change    *Change
	dims      Dims
	sightings counterRef
	attempts  counterRef
}

func (s *Store) newBatch(ctx context.Context) *batch {
	now := s.now()
	return &batch{s: s, ctx: ctx, pipe: s.rdb.Pipeline(), now: now,
		cutoff:   now.Add(-s.cfg.Retention).UnixMilli(),
		hashByID: map[string]*hashWrites{}, zaddGT: map[string][]redis.Z{}, zaddNX: map[string][]redis.Z{},
		replayed: map[[2]string]struct{}{}}
}

func (b *batch) add(c *Change) {
	ev := c.Event
	if !kept(ev) {
		return
	}
	s, ctx, pipe := b.s, b.ctx, b.pipe
	tenant, interaction, id := ev.GetTenant(), ev.GetInteractionId(), ev.GetDedupKey()
	h := b.hash(tenant, interaction)
	at := c.At.UnixMilli()
	w := writtenChange{change: c}
	if c.Type != ChangeReceived {
		w.dims = s.dims.of(ev)
	}
	switch c.Type {
	case ChangeReceived:
		o := s.dims.observe(ev, &eventRef{id: id, ms: at})
		w.dims = o.dims
		for _, dim := range o.revealed {
			ek := s.eventIndexKey(tenant, dim)
			for _, r := range o.earlier {
				b.zaddNX[ek] = append(b.zaddNX[ek], redis.Z{Score: float64(r.ms), Member: r.id})
			}
		}
		pipe.SetArgs(ctx, s.eventKey(tenant, id), s.encodeRecord(c, w.dims), redis.SetArgs{Mode: "NX", TTL: s.cfg.Retention})
		isNew := c.Verdict == eventstore.VerdictNew
		if isNew {
			f := summaryFields(ev, w.dims, at)
			for i := 0; i+1 < len(f); i += 2 {
				h.set(f[i].(string), f[i+1])
			}
			h.wrote |= headLast // summaryFields sets it
		} else {
			h.set(pDuplicate+id, at)
			h.setHead(headLast, fLast, at)
		}
		h.setHead(headFirst, fFirst, at)
		if tr := TraceID(ev); tr != "" {
			h.setHead(headTrace, fTraceID, tr)
		}
		h.setNX(pState+id, storedState{state: StatePending, at: c.At}.encode())
		w.sightings = h.incrBy(pSightings+id, 1)
		for _, dim := range w.dims.dims() {
			ik := s.interactionIndexKey(tenant, dim)
			if isNew {
				b.zaddGT[ik] = append(b.zaddGT[ik], redis.Z{Score: float64(at), Member: interaction})
			} else {
				b.zaddNX[ik] = append(b.zaddNX[ik], redis.Z{Score: float64(at), Member: interaction})
			}
			ek := s.eventIndexKey(tenant, dim)
			b.zaddNX[ek] = append(b.zaddNX[ek], redis.Z{Score: float64(at), Member: id})
		}
	case ChangeReplayed:
		h.set(pState+id, storedState{state: StatePending, at: c.At}.encode())
		h.incrBy(pReplays+id, 1)
		b.replayed[[2]string{tenant, interaction}] = struct{}{}
	default:
		st := storedState{state: stateAfter(c.Type), at: c.At, regalStatus: c.RegalStatus,
			redelivery: c.Redelivery, dispatcher: c.Dispatcher, reason: c.Reason}
		h.set(pState+id, st.encode())
		if c.Attempts > 0 {
			w.attempts = h.incrBy(pAttempts+id, int64(c.Attempts))
		}
		if c.Type == ChangeDeadLettered {
			ik := s.interactionIndexKey(tenant, dimDead)
			b.zaddGT[ik] = append(b.zaddGT[ik], redis.Z{Score: float64(at), Member: interaction})
		}
	}
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: h.hist, MaxLen: s.cfg.HistoryMaxLen, Approx: true,
		Values: []any{"c", historyEntry{eventID: id, change: *c}.encode()}})
	b.written = append(b.written, w)
}

// hash returns the writes of an interaction's summary, asking the memo
// what it holds the first time.
func (b *batch) hash(tenant, interaction string) *hashWrites {
	key := b.s.summaryKey(tenant, interaction)
	if h := b.hashByID[key]; h != nil {
		return h
	}
	h := &hashWrites{key: key, hist: b.s.historyKey(tenant, interaction)}
	h.expire, _, h.known = b.s.memo.needs(key, b.now)
	b.hashByID[key] = h
	b.hashes = append(b.hashes, h)
	return h
}

// flush adds the summary writes, the index writes (each index trimmed to
// the retention window unless it was lately) and the expiries, after
// every write: PEXPIRE does nothing to a key not created yet.
func (b *batch) flush() {
	ctx, pipe, memo := b.ctx, b.pipe, b.s.memo
	for _, h := range b.hashes {
		h.flush(ctx, pipe)
		b.remember(memoUpdate{key: h.key, expire: h.expire, head: h.wrote})
		expire, _, _ := memo.needs(h.hist, b.now)
		b.remember(memoUpdate{key: h.hist, expire: expire})
	}
	trim := "(" + strconv.FormatInt(b.cutoff, 10)
	touch := func(key string) {
		expire, needTrim, _ := memo.needs(key, b.now)
		if needTrim {
			pipe.ZRemRangeByScore(ctx, key, "-inf", trim)
		}
		// A trim that removed every member removed the key: the PEXPIRE
		// after it says so, and the next write sets the TTL again.
		b.remember(memoUpdate{key: key, expire: expire || needTrim, trim: needTrim})
	}
	for key, members := range b.zaddNX {
		pipe.ZAddNX(ctx, key, members...)
		if _, also := b.zaddGT[key]; !also {
			touch(key)
		}
	}
	for key, members := range b.zaddGT {
		pipe.ZAddGT(ctx, key, members...)
		touch(key)
	}
	ttl := keyTTL(b.s.cfg.Retention)
	b.pexpire = make([]*redis.BoolCmd, len(b.memo))
	for i, u := range b.memo {
		if u.expire {
			b.pexpire[i] = pipe.PExpire(ctx, u.key, ttl)
		}
	}
}

// remember notes what the batch does to a key, for the memo.
func (b *batch) remember(u memoUpdate) {
	if u.expire || u.trim || u.head != 0 {
		b.memo = append(b.memo, u)
	}
}
