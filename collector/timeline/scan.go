package timeline

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// scanner walks a sorted-set index in (score, member) order, newest or
// oldest first, from a cursor, within a score range, examining at most
// budget members. Members sharing a score are walked in Redis's order
// (by member), so a cursor is exact even inside a group of equal scores.
type scanner struct {
	rdb         redis.UniversalClient
	key         string
	newestFirst bool
	lo, hi      int64 // scores in [lo, hi)
	pos         Cursor
	started     bool // pos is a consumed member
	pastTies    bool // every member scored pos.Score has been consumed
	exhausted   bool // the last fetch reached the end of the range
	unconsumed  int  // members of the last fetch not consumed yet
	budget      int
}

func newScanner(rdb redis.UniversalClient, key string, newestFirst bool, lo, hi int64, after Cursor, budget int) *scanner {
	return &scanner{rdb: rdb, key: key, newestFirst: newestFirst, lo: lo, hi: hi, pos: after,
		started: !after.IsZero(), budget: budget}
}

// fetch returns up to n members after the position, or none when the range
// or the budget is spent.
func (sc *scanner) fetch(ctx context.Context, n int) ([]redis.Z, error) {
	for !sc.exhausted && sc.budget > 0 {
		out, err := sc.fetchOnce(ctx, min(n, sc.budget))
		if err != nil || len(out) > 0 {
			sc.unconsumed = len(out)
			return out, err
		}
	}
	return nil, nil
}

// fetchOnce reads the next members; it may return none before the end of
// the range, after stepping past a group of consumed equal scores.
func (sc *scanner) fetchOnce(ctx context.Context, n int) ([]redis.Z, error) {
	near := sc.edge(true)
	if sc.started {
		near = strconv.FormatInt(sc.pos.Score, 10)
		if sc.pastTies {
			near = "(" + near
		}
	}
	zs, err := sc.rangeByScore(ctx, near, sc.edge(false), n)
	if err != nil {
		return nil, err
	}
	out := sc.dropConsumed(zs)
	switch {
	case len(zs) < n:
		sc.exhausted = true
	case len(out) == 0:
		// The whole read was members sharing pos.Score, all consumed
		// already: read that score's whole group, then go past it.
		score := strconv.FormatInt(sc.pos.Score, 10)
		ties, err := sc.rangeByScore(ctx, score, score, 0)
		if err != nil {
			return nil, err
		}
		out = sc.dropConsumed(ties)
		sc.pastTies = true
	}
	return out, nil
}

// consume moves the position to z, the next member fetch returned.
func (sc *scanner) consume(z redis.Z) {
	score := int64(z.Score)
	if !sc.started || score != sc.pos.Score {
		sc.pastTies = false
	}
	sc.pos = Cursor{Score: score, Member: z.Member.(string)}
	sc.started = true
	sc.unconsumed--
	sc.budget--
}

// next is the cursor to resume after the consumed members, zero when the
// range is done.
func (sc *scanner) next() Cursor {
	if sc.exhausted && sc.unconsumed == 0 {
		return Cursor{}
	}
	return sc.pos
}

// edge is the near (start) or far end of the range, in scan order.
func (sc *scanner) edge(near bool) string {
	if sc.newestFirst == near { // the high end
		if sc.hi == math.MaxInt64 {
			return "+inf"
		}
		return "(" + strconv.FormatInt(sc.hi, 10)
	}
	if sc.lo == math.MinInt64 {
		return "-inf"
	}
	return strconv.FormatInt(sc.lo, 10)
}

func (sc *scanner) rangeByScore(ctx context.Context, start, stop string, n int) ([]redis.Z, error) {
	zs, err := sc.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: sc.key, Start: start, Stop: stop,
		ByScore: true, Rev: sc.newestFirst, Count: int64(n)}).Result()
	if err != nil {
		return nil, fmt.Errorf("scan index: %w", err)
	}
	return zs, nil
}

// dropConsumed removes the members at pos.Score that come before or at
// pos in scan order.
func (sc *scanner) dropConsumed(zs []redis.Z) []redis.Z {
	if !sc.started || sc.pastTies {
		return zs
	}
	out := zs[:0:0]
	for _, z := range zs {
		m, _ := z.Member.(string)
		if int64(z.Score) == sc.pos.Score && (sc.newestFirst && m >= sc.pos.Member || !sc.newestFirst && m <= sc.pos.Member) {
			continue
		}
		out = append(out, z)
	}
	return out
}
