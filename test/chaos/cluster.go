package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// cluster is the set of processes of one run, all on 127.0.0.1.
type cluster struct {
	dir    string
	tenant string
	log    *slog.Logger

	redisAddr string
	redis     *process
	// timelineRedis holds the collector's timeline when Options.TimelineRedis.
	timelineRedis     *process
	timelineRedisAddr string
	sapi              *process
	regal             *process
	collector         *process
	dispatchers       []*process
	// collectorMetrics is the collector's metrics address (host:port);
	// dispatcherMetrics each dispatcher's, by name.
	collectorMetrics  string
	dispatcherMetrics map[string]string
	sapiCtl           sapiControl
	regalCtl          regalControl
	rdb               *redis.Client

	mu         sync.Mutex
	exits      []ProcessExit
	closing    bool
	doubleDied chan string // a double exited: the run cannot go on
	restarts   sync.WaitGroup
}

// secrets are a run's credentials, random per run.
type secrets struct{ sapiToken, regalKey, phoneHashSalt string }

func newSecrets() secrets {
	return secrets{sapiToken: randomHex(), regalKey: randomHex(), phoneHashSalt: randomHex()}
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startCluster starts Redis, both doubles, the collector and the
// dispatchers, and waits until the collector subscribed to the SAPI
// double. On error, whatever started is left for close.
func startCluster(ctx context.Context, c *cluster, bins Binaries, o Options) error {
	s := newSecrets()
	var err error
	if c.redisAddr, err = freeAddr(); err != nil {
		return err
	}
	c.redis, err = startRedis(ctx, "redis", c.redisAddr, redisDir(c.dir), c.logPath("redis"), o.RedisFsync, c.onBridgeExit)
	if err != nil {
		return err
	}
	if o.TimelineRedis {
		// As deploy/redis-timeline.conf: fsync once a second, none during
		// an AOF rewrite.
		if c.timelineRedisAddr, err = freeAddr(); err != nil {
			return err
		}
		c.timelineRedis, err = startRedis(ctx, "redis-timeline", c.timelineRedisAddr, filepath.Join(c.dir, "redis-timeline"),
			c.logPath("redis-timeline"), "everysec", c.onBridgeExit, "--no-appendfsync-on-rewrite", "yes")
		if err != nil {
			return err
		}
	}
	c.rdb = redis.NewClient(&redis.Options{Addr: c.redisAddr})

	c.regal = c.newProcess("regal-double", bins.RegalDouble, c.onDoubleExit,
		append([]string{"REGAL_DOUBLE_API_KEY=" + s.regalKey}, o.DoubleEnv...),
		"-addr", "127.0.0.1:0", "-addr-file", c.path("regal-double.url"), "-control",
		"-error-rate", strconv.FormatFloat(o.RegalErrorRate, 'f', -1, 64), "-seed", strconv.FormatInt(o.Seed, 10))
	regalURL, err := c.startDouble(ctx, c.regal, "regal-double.url")
	if err != nil {
		return err
	}
	c.regalCtl = regalControl{base: regalURL}

	c.sapi = c.newProcess("sapi-double", bins.SAPIDouble, c.onDoubleExit,
		append([]string{"SAPI_DOUBLE_TOKEN=" + s.sapiToken}, o.DoubleEnv...),
		"-listen", "127.0.0.1:0", "-addr-file", c.path("sapi-double.url"), "-control", "-calls", "0",
		"-tenant", c.tenant, "-replay-last", strconv.Itoa(o.ReplayLast), "-heartbeat", "5s",
		"-seed", strconv.FormatInt(o.Seed, 10))
	sapiURL, err := c.startDouble(ctx, c.sapi, "sapi-double.url")
	if err != nil {
		return err
	}
	c.sapiCtl = sapiControl{base: sapiURL, tenant: c.tenant}

	grpcAddr, err := freeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	c.collectorMetrics = metricsAddr
	configPath := c.path("bridge.yaml")
	at := bridgeEndpoints{redis: c.redisAddr, timelineRedis: c.timelineRedisAddr, sapiURL: sapiURL, regalURL: regalURL, collectorGRPC: grpcAddr, collectorMetrics: metricsAddr}
	if err := writeBridgeConfig(configPath, c.tenant, at, o.Delivery, o.Dispatchers); err != nil {
		return err
	}
	env := []string{sapiTokenEnv + "=" + s.sapiToken, regalKeyEnv + "=" + s.regalKey, phoneHashSaltEnv + "=" + s.phoneHashSalt}
	c.collector = c.newProcess("collector", bins.Collector, c.onBridgeExit, env, "-config", configPath)
	if err := c.collector.start(); err != nil {
		return err
	}
	c.dispatcherMetrics = map[string]string{}
	for i := range o.Dispatchers {
		id := "dispatcher-" + strconv.Itoa(i+1)
		if c.dispatcherMetrics[id], err = freeAddr(); err != nil {
			return err
		}
		d := c.newProcess(id, bins.Dispatcher, c.onBridgeExit, env, "-config", configPath, "-id", id,
			"-metrics-listen", c.dispatcherMetrics[id])
		c.dispatchers = append(c.dispatchers, d)
		if err := d.start(); err != nil {
			return err
		}
	}
	return c.waitSubscribed(ctx)
}

// newProcess describes a child whose log is <dir>/<name>.log.
func (c *cluster) newProcess(name, bin string, onExit func(*process, error), env []string, args ...string) *process {
	return &process{name: name, path: bin, args: args, env: minimalEnv(env...), logPath: c.logPath(name), onExit: onExit}
}

// startDouble starts a double and returns the base URL it wrote.
func (c *cluster) startDouble(ctx context.Context, p *process, addrFile string) (string, error) {
	if err := p.start(); err != nil {
		return "", err
	}
	url, err := readAddrFile(ctx, c.path(addrFile), p.running)
	if err != nil {
		return "", fmt.Errorf("%s: %w (see %s)", p.name, err, p.logPath)
	}
	return url, nil
}

// waitSubscribed waits until the collector has a SAPI stream open: the
// double buffers events only for subscriptions it has seen.
func (c *cluster) waitSubscribed(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		st, err := c.sapiCtl.tenantStats(ctx)
		if err == nil && st.Subscribers > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the collector did not subscribe to the SAPI double (see %s): %w", c.collector.logPath, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *cluster) path(name string) string    { return filepath.Join(c.dir, name) }
func (c *cluster) logPath(name string) string { return c.path(name + ".log") }
