package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRedis runs redis-server with the settings the bridge's guarantees
// need (AOF, fsync per fsync — "always" unless told otherwise —, no
// eviction) in dir, on addr, and waits until it answers. The same process
// restarted reloads its AOF from dir. extra are further redis-server
// arguments.
func startRedis(ctx context.Context, name, addr, dir, logPath, fsync string, onExit func(*process, error), extra ...string) (*process, error) {
	if fsync == "" {
		fsync = "always"
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (install the redis-server package): %w", err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &process{
		name: name, path: bin, logPath: logPath, onExit: onExit,
		env: minimalEnv(),
		args: []string{
			"--bind", host, "--port", port, "--dir", dir, "--protected-mode", "yes",
			"--appendonly", "yes", "--appendfsync", fsync, "--save", "",
			"--maxmemory-policy", "noeviction", "--logfile", "",
		},
	}
	p.args = append(p.args, extra...)
	if err := p.start(); err != nil {
		return nil, err
	}
	if err := waitRedis(ctx, addr); err != nil {
		p.kill()
		return nil, fmt.Errorf("%w (see %s)", err, logPath)
	}
	return p, nil
}

// waitRedis waits until Redis at addr answers PING and has loaded its
// data.
func waitRedis(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s did not answer: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// redisDir is where a run's Redis keeps its AOF.
func redisDir(runDir string) string { return filepath.Join(runDir, "redis") }
