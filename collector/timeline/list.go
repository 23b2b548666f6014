package timeline

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Listing bounds.
const (
	// MaxPageSize is the most items one listing returns.
	MaxPageSize = 1000
	// defaultScanBudget bounds the index members one listing examines, so
	// a filter that few members match answers in bounded time (with a
	// cursor to continue) instead of scanning everything.
	defaultScanBudget = 5000
)

// Page is where a listing starts and how much it returns.
type Page struct {
	// After is the cursor of the previous page's last item (zero: start).
	After Cursor
	// Size is the most items to return (1..MaxPageSize).
	Size int
	// OldestFirst walks the index from the oldest item (default newest).
	OldestFirst bool
}

// ListInteractions returns up to page.Size interactions of tenant matching
// q, most recently updated first, and the cursor of the next page (zero
// when there is none). A page may be short, even empty, with a cursor,
// when the scan budget was spent. The most selective index answers: the
// phone's, else the dead-letter index (for HasDeadLetters without a time
// range), the agent's, the campaign's, the queue's, else all of the
// tenant's.
func (s *Store) ListInteractions(ctx context.Context, tenant string, q Query, page Page) ([]Interaction, Cursor, error) {
	dim, scoreIsUpdate := interactionDim(q)
	lo, hi := bounds(q)
	if !scoreIsUpdate {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	lo = max(lo, s.retained())
	sc := newScanner(s.rdb, s.interactionIndexKey(tenant, dim), !page.OldestFirst, lo, hi, page.After, s.scanBudget)
	size := clampSize(page.Size)
	var out []Interaction
	for len(out) < size {
		zs, err := sc.fetch(ctx, chunkFor(size-len(out)))
		if err != nil || len(zs) == 0 {
			return out, sc.next(), err
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(zs))
		for i, z := range zs {
			cmds[i] = pipe.HGetAll(ctx, s.summaryKey(tenant, z.Member.(string)))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, Cursor{}, fmt.Errorf("read interactions: %w", err)
		}
		for i, z := range zs {
			if len(out) == size {
				break
			}
			sc.consume(z)
			h := cmds[i].Val()
			if len(h) == 0 {
				continue // expired, its index entry not trimmed yet
			}
			in := decodeSummary(tenant, z.Member.(string), h)
			if in.matches(q) && (scoreIsUpdate || inRange(in.Last, q)) {
				out = append(out, in)
			}
		}
	}
	return out, sc.next(), nil
}

// interactionDim picks the interaction index for q, and says whether its
// scores are update times (the dead-letter index's are dead-letter times).
func interactionDim(q Query) (dim string, scoreIsUpdate bool) {
	switch {
	case q.Phone != "":
		return dimPhone(q.Phone), true
	case q.Status == HasDeadLetters && q.Start.IsZero() && q.End.IsZero():
		return dimDead, false
	case q.AgentID != "":
		return dimAgent(q.AgentID), true
	case q.CampaignID != 0:
		return dimCampaign(q.CampaignID), true
	case q.QueueID != 0:
		return dimQueue(q.QueueID), true
	}
	return dimAll, true
}

// eventDim picks the event index for q.
func eventDim(q Query) string {
	switch {
	case q.Phone != "":
		return dimPhone(q.Phone)
	case q.AgentID != "":
		return dimAgent(q.AgentID)
	case q.CampaignID != 0:
		return dimCampaign(q.CampaignID)
	case q.QueueID != 0:
		return dimQueue(q.QueueID)
	}
	return dimAll
}

// bounds are q's time range as scores, [lo, hi).
func bounds(q Query) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !q.Start.IsZero() {
		lo = q.Start.UnixMilli()
	}
	if !q.End.IsZero() {
		hi = q.End.UnixMilli()
	}
	return lo, hi
}

func inRange(t time.Time, q Query) bool {
	lo, hi := bounds(q)
	ms := t.UnixMilli()
	return ms >= lo && ms < hi
}

func clampSize(n int) int {
	return max(1, min(n, MaxPageSize))
}

// chunkFor is how many index members to read for want more items: a few
// more than wanted, as filters drop some.
func chunkFor(want int) int {
	return min(max(2*want, 32), 500)
}
