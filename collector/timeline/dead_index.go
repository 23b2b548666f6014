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
	for i, c := range cmds {
		if in := decodeSummary(keys[i][0], keys[i][1], c.Val()); in.Counts.DeadLettered == 0 {
			pipe.ZRem(ctx, s.interactionIndexKey(keys[i][0], dimDead), keys[i][1])
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("update dead-letter index: %w", err)
	}
	return nil
}
