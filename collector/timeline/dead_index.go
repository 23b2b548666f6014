package timeline

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// pruneDeadIndex drops from the dead-letter index the interactions that no
// longer have a dead-lettered event.
func (s *Store) pruneDeadIndex(ctx context.Context, interactions map[[2]string]struct{}) error {
	pipe := s.rdb.Pipeline()
	keys := make([][2]string, 0, len(interactions))
	cmds := make([]*redis.MapStringStringCmd, 0, len(interactions))
	for k := range interactions {
		keys = append(keys, k)
		cmds = append(cmds, pipe.HGetAll(ctx, s.summaryKey(k[0], k[1])))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("read replayed interactions: %w", err)
	}
	pipe = s.rdb.Pipeline()
	var emptied []memoUpdate
	for i, c := range cmds {
		if in := decodeSummary(keys[i][0], keys[i][1], c.Val()); in.Counts.DeadLettered == 0 {
			key := s.interactionIndexKey(keys[i][0], dimDead)
			pipe.ZRem(ctx, key, keys[i][1])
			emptied = append(emptied, memoUpdate{key: key, gone: true})
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	// Removing the last member removes the key: its next write must set
	// the TTL again (forgotten first, so that no write after the removal
	// leaves it out).
	s.memo.done(s.now(), emptied)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("update dead-letter index: %w", err)
	}
	return nil
}
