package timeline

import (
	"context"
	"fmt"
	"strconv"

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
	b.flushIndexes()
	if err := execPipeline(ctx, b.pipe); err != nil {
		return fmt.Errorf("record %d timeline changes: %w", len(b.written), err)
	}
	if len(b.replayed) > 0 {
		_ = s.pruneDeadIndex(ctx, b.replayed) // best effort, see above
	}
	pub := make([]Published, len(b.written))
	for i, w := range b.written {
		pub[i] = Published{Change: *w.change, Dims: w.dims}
		pub[i].Payload = nil
		if w.sightings != nil {
			pub[i].Sightings = int(w.sightings.Val())
		}
		if w.attempts != nil {
			pub[i].TotalAttempts = int(w.attempts.Val())
		}
	}
	s.hub.Publish(pub)
	return nil
}

// batch builds one pipeline of changes.
type batch struct {
	s        *Store
	ctx      context.Context
	pipe     redis.Pipeliner
	cutoff   int64                  // index members older than this are trimmed
	expire   map[string]struct{}    // summary and history keys to expire
	zaddGT   map[string][]redis.Z   // interaction indexes: latest activity wins
	zaddNX   map[string][]redis.Z   // event indexes, and interactions seen only as duplicates
	replayed map[[2]string]struct{} // (tenant, interaction) with a replayed event
	written  []writtenChange
}

type writtenChange struct {
	change    *Change
	dims      Dims
	sightings *redis.IntCmd
	attempts  *redis.IntCmd
}

func (s *Store) newBatch(ctx context.Context) *batch {
	return &batch{s: s, ctx: ctx, pipe: s.rdb.Pipeline(),
		cutoff: s.now().Add(-s.cfg.Retention).UnixMilli(),
		expire: map[string]struct{}{}, zaddGT: map[string][]redis.Z{}, zaddNX: map[string][]redis.Z{},
		replayed: map[[2]string]struct{}{}}
}

func (b *batch) add(c *Change) {
	ev := c.Event
	if !kept(ev) {
		return
	}
	s, ctx, pipe := b.s, b.ctx, b.pipe
	tenant, interaction, id := ev.GetTenant(), ev.GetInteractionId(), ev.GetDedupKey()
	sum := s.summaryKey(tenant, interaction)
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
			pipe.HSet(ctx, sum, summaryFields(ev, w.dims, at)...)
		} else {
			pipe.HSet(ctx, sum, pDuplicate+id, at)
			pipe.HSetNX(ctx, sum, fLast, at)
		}
		pipe.HSetNX(ctx, sum, fFirst, at)
		if tr := TraceID(ev); tr != "" {
			pipe.HSetNX(ctx, sum, fTraceID, tr)
		}
		pipe.HSetNX(ctx, sum, pState+id, storedState{state: StatePending, at: c.At}.encode())
		w.sightings = pipe.HIncrBy(ctx, sum, pSightings+id, 1)
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
		pipe.HSet(ctx, sum, pState+id, storedState{state: StatePending, at: c.At}.encode())
		pipe.HIncrBy(ctx, sum, pReplays+id, 1)
		b.replayed[[2]string{tenant, interaction}] = struct{}{}
	default:
		st := storedState{state: stateAfter(c.Type), at: c.At, regalStatus: c.RegalStatus,
			redelivery: c.Redelivery, dispatcher: c.Dispatcher, reason: c.Reason}
		pipe.HSet(ctx, sum, pState+id, st.encode())
		if c.Attempts > 0 {
			w.attempts = pipe.HIncrBy(ctx, sum, pAttempts+id, int64(c.Attempts))
		}
		if c.Type == ChangeDeadLettered {
			ik := s.interactionIndexKey(tenant, dimDead)
			b.zaddGT[ik] = append(b.zaddGT[ik], redis.Z{Score: float64(at), Member: interaction})
		}
	}
	hist := s.historyKey(tenant, interaction)
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: hist, MaxLen: s.cfg.HistoryMaxLen, Approx: true,
		Values: []any{"c", historyEntry{eventID: id, change: *c}.encode()}})
	b.expire[sum], b.expire[hist] = struct{}{}, struct{}{}
	b.written = append(b.written, w)
}

// flushIndexes adds the index writes, each index trimmed to the retention
// window, and the expiries.
func (b *batch) flushIndexes() {
	ctx, pipe, ttl := b.ctx, b.pipe, b.s.cfg.Retention
	trim := "(" + strconv.FormatInt(b.cutoff, 10)
	touch := func(key string) {
		pipe.ZRemRangeByScore(ctx, key, "-inf", trim)
		pipe.PExpire(ctx, key, ttl)
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
	for key := range b.expire {
		pipe.PExpire(ctx, key, ttl)
	}
}
