package redistest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Backend is one Redis implementation that code on Redis must work on.
// Conformance suites range over Backends, so that every suite runs on the
// same matrix.
type Backend struct {
	// Name names the backend in subtests.
	Name string
	// Start starts a server of the backend for t, stopped by t.Cleanup.
	// opts applies where the backend has the setting (miniredis has no
	// persistence).
	Start func(t testing.TB, opts Options) *Instance
	// Cluster is true for a Redis Cluster: a suite's multi-key scripts
	// and transactions must keep to one slot, and nothing flushes it
	// between tests (the backend shares one cluster per test binary), so
	// tests on it keep apart by key prefix.
	Cluster bool
}

// Instance is a running server of a Backend.
type Instance struct {
	// Addr is the server's address; a cluster's first node.
	Addr string
	// Cluster is the cluster the instance is, nil for a single server:
	// its primaries can be failed over.
	Cluster *Cluster
	// Embedded is true for miniredis, in the test's own process: it lacks
	// a few commands (MEMORY USAGE, CLIENT PAUSE) and persistence.
	Embedded bool
	// Restart restarts the server (abruptly) keeping what it persisted;
	// nil when it persists nothing (miniredis, or no Options.AppendOnly).
	Restart func(t testing.TB)
	// FastForward moves the server's clock by d, expiring keys as time
	// would; nil when keys expire on the wall clock only (redis-server).
	FastForward func(d time.Duration)
}

// Client returns a client for the instance (a cluster client for a
// cluster), closed by t.Cleanup.
func (i *Instance) Client(t testing.TB) redis.UniversalClient {
	if i.Cluster != nil {
		return i.Cluster.Client(t)
	}
	c := redis.NewClient(&redis.Options{Addr: i.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Backends is the matrix: a real redis-server, as production runs,
// miniredis, embedded (fast, with a clock a test can move), and a real
// Redis Cluster (3 primaries, 3 replicas, appendfsync always), shared by
// the test binary's tests (see SharedCluster). Options do not apply to the
// cluster: it always persists as production does, and cannot restart.
func Backends() []Backend {
	return []Backend{
		{Name: "redis_server", Start: func(t testing.TB, opts Options) *Instance {
			s := Start(t, opts)
			i := &Instance{Addr: s.Addr}
			if opts.AppendOnly {
				i.Restart = func(t testing.TB) { s.Restart(t, true) }
			}
			return i
		}},
		{Name: "miniredis", Start: func(t testing.TB, _ Options) *Instance {
			m := miniredis.RunT(t)
			return &Instance{Addr: m.Addr(), Embedded: true, FastForward: m.FastForward}
		}},
		ClusterBackend(),
	}
}

// ClusterBackend is the matrix's Redis Cluster alone.
func ClusterBackend() Backend {
	return Backend{Name: "redis_cluster", Cluster: true, Start: func(t testing.TB, _ Options) *Instance {
		c := SharedCluster(t)
		return &Instance{Addr: c.Addrs[0], Cluster: c}
	}}
}

// Keys returns the keys matching pattern: on a cluster, those of every
// primary (KEYS on a cluster client asks one node only).
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return rdb.Keys(ctx, pattern).Result()
	}
	var (
		mu  sync.Mutex
		all []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, pattern).Result()
		mu.Lock()
		all = append(all, keys...)
		mu.Unlock()
		return err
	})
	return all, err
}
