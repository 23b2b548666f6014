package timeline

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// execPipeline runs pipe and returns the first error of its commands,
// where a nil reply (SET NX that did not set) is an answer, not an error.
func execPipeline(ctx context.Context, pipe redis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
