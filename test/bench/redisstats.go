package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisCommands is the total_commands_processed (INFO stats) of the Redis
// servers at addrs, added up. Each INFO call itself counts as one.
func redisCommands(ctx context.Context, addrs ...string) (int64, error) {
	var total int64
	for _, addr := range addrs {
		n, err := commandsOf(ctx, addr)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func commandsOf(ctx context.Context, addr string) (int64, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO stats: %w", err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("redis INFO stats has no total_commands_processed")
}
