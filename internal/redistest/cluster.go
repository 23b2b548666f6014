package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three primaries and three replicas (one
// per primary), each a redis-server on a free loopback port with
// appendonly yes and appendfsync always, as production runs.
type Cluster struct {
	// Addrs are the nodes' addresses, the seeds a client starts from.
	Addrs []string
	Dir   string
	nodes []*Server
}

// clusterNodes is 3 primaries + 3 replicas: the smallest cluster that
// has a replica to fail over to for every slot.
const clusterNodes = 6

// StartCluster starts a cluster for t, stopped and removed by t.Cleanup.
// Suites that can share one use SharedCluster, which starts six processes
// once per test binary instead of once per test.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	return c
}

var shared struct {
	mu sync.Mutex
	c  *Cluster
}

// SharedCluster returns the test binary's one cluster, started on first
// use. Tests on it keep apart by key prefix (nothing flushes it between
// them). It is stopped by a TestMain that runs its tests through
// WithSharedCluster; without one, its servers end with the test binary
// (they are started with a parent-death signal) and its directory stays
// in the temporary directory.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c == nil {
		dir, err := os.MkdirTemp("", "redistest-cluster-")
		if err != nil {
			t.Fatal(err)
		}
		c, err := startCluster(dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			t.Fatal(err)
		}
		shared.c = c
	}
	return shared.c
}

// TestingM is what testing.M and goleak.VerifyTestMain have in common.
type TestingM interface{ Run() int }

type sharedMain struct{ m TestingM }

// WithSharedCluster wraps m so that its Run stops the shared cluster (if a
// test started it) once the tests are done: in TestMain,
// os.Exit(redistest.WithSharedCluster(m).Run()), or
// goleak.VerifyTestMain(redistest.WithSharedCluster(m)).
func WithSharedCluster(m TestingM) TestingM { return sharedMain{m} }

func (s sharedMain) Run() int {
	code := s.m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c != nil {
		shared.c.stop()
		_ = os.RemoveAll(shared.c.Dir)
		shared.c = nil
	}
	return code
}

func startCluster(dir string) (_ *Cluster, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (install the redis-server package): %w", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli not found on PATH (install the redis-tools package): %w", err)
	}
	c := &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	for i := range clusterNodes {
		port, err := freePortErr()
		if err != nil {
			return nil, err
		}
		nodeDir := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return nil, err
		}
		s := &Server{Dir: nodeDir, port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
		s.args = []string{
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--dir", nodeDir, "--save", "", "--maxmemory-policy", "noeviction",
			"--protected-mode", "yes", "--appendonly", "yes", "--appendfsync", "always",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		}
		// The shared cluster outlives every test: end it with the test
		// binary should no TestMain stop it.
		s.sysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		c.nodes = append(c.nodes, s)
		if err := s.startErr(bin); err != nil {
			return nil, err
		}
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		return nil, err
	}
	return c, nil
}

// waitReady waits until every node reports cluster_state:ok and sees every
// other node, and every replica's link to its primary is up (a manual
// failover needs it).
func (c *Cluster) waitReady(within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last string
	for {
		ok, why := c.ready(ctx)
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster in %s not ready: %s", c.Dir, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready(ctx context.Context) (bool, string) {
	replicas := 0
	for _, addr := range c.Addrs {
		info, err := nodeCmd(ctx, addr, "CLUSTER", "INFO")
		if err != nil {
			return false, err.Error()
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(clusterNodes)) {
			return false, addr + ": " + info
		}
		repl, err := nodeCmd(ctx, addr, "INFO", "replication")
		if err != nil {
			return false, err.Error()
		}
		if strings.Contains(repl, "role:slave") {
			if !strings.Contains(repl, "master_link_status:up") {
				return false, addr + ": replica link down"
			}
			replicas++
		}
	}
	if replicas != clusterNodes/2 {
		return false, fmt.Sprintf("%d replicas, want %d", replicas, clusterNodes/2)
	}
	return true, ""
}

// agree says whether every node's view of the cluster (CLUSTER NODES,
// which a client loads its slot map from) has promoted as a primary and
// demoted as a replica: the roles switch on the two nodes first and reach
// the others by gossip.
func (c *Cluster) agree(ctx context.Context, promoted, demoted string) bool {
	for _, addr := range c.Addrs {
		nodes, err := nodeCmd(ctx, addr, "CLUSTER", "NODES")
		if err != nil {
			return false
		}
		sawPromoted, sawDemoted := false, false
		for _, l := range strings.Split(nodes, "\n") {
			f := strings.Fields(l)
			if len(f) < 3 {
				continue
			}
			node := strings.SplitN(f[1], "@", 2)[0]
			switch node {
			case promoted:
				sawPromoted = strings.Contains(f[2], "master")
			case demoted:
				sawDemoted = strings.Contains(f[2], "slave")
			}
		}
		if !sawPromoted || !sawDemoted {
			return false
		}
	}
	return true
}

// nodeCmd sends one command to one node and returns its reply as text.
func nodeCmd(ctx context.Context, addr string, args ...any) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	v, err := c.Do(ctx, args...).Text()
	if err != nil {
		return "", fmt.Errorf("%s: %v: %w", addr, args, err)
	}
	return v, nil
}

// Client returns a cluster client for c, closed by t.Cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// PrimaryOf returns the address of the primary serving key's slot.
func (c *Cluster) PrimaryOf(t testing.TB, key string) string {
	t.Helper()
	// A new client: one in use may hold the layout before a failover.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer cc.Close()
	primary, err := cc.MasterForKey(context.Background(), key)
	if err != nil {
		t.Fatalf("primary of %q: %v", key, err)
	}
	return primary.Options().Addr
}

// Failover fails over the primary at primary: CLUSTER FAILOVER on one of
// its replicas, which waits for the replica to catch up with the primary
// before they switch, so no acknowledged write is lost. It returns when
// the replica is the primary, the old primary its replica, and every node
// agrees on the switch. It returns the new primary's address.
func (c *Cluster) Failover(t testing.TB, primary string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Right after an earlier failover the promoted primary may not know
	// its new replica yet (it learns it by gossip): ask until it does.
	var (
		replica string
		err     error
	)
	for replica, err = c.replicaOf(ctx, primary); err != nil; replica, err = c.replicaOf(ctx, primary) {
		select {
		case <-ctx.Done():
			t.Fatal(err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Redis gives a manual failover 5 s to complete and drops it silently
	// if the replica has not caught up by then (a loaded machine): ask
	// again until the roles switch.
	var retry <-chan time.Time
	for {
		if retry == nil {
			if _, err := nodeCmd(ctx, replica, "CLUSTER", "FAILOVER"); err != nil {
				t.Fatal(err)
			}
			retry = time.After(6 * time.Second)
		}
		newRole, err1 := role(ctx, replica)
		oldRole, err2 := role(ctx, primary)
		if err1 == nil && err2 == nil && newRole == "master" && oldRole == "slave" {
			if ok, _ := c.ready(ctx); ok && c.agree(ctx, replica, primary) {
				return replica
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("failover of %s to %s did not complete (roles %q, %q; %v %v)", primary, replica, newRole, oldRole, err1, err2)
		case <-retry:
			if newRole != "master" {
				retry = nil
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// FailoverKey fails over the primary serving key's slot and returns the
// new primary's address.
func (c *Cluster) FailoverKey(t testing.TB, key string) string {
	t.Helper()
	return c.Failover(t, c.PrimaryOf(t, key))
}

func role(ctx context.Context, addr string) (string, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	v, err := rdb.Do(ctx, "ROLE").Slice()
	if err != nil || len(v) == 0 {
		return "", err
	}
	s, _ := v[0].(string)
	return s, nil
}

// replicaOf returns the address of a replica of the primary at addr.
func (c *Cluster) replicaOf(ctx context.Context, addr string) (string, error) {
	id, err := nodeCmd(ctx, addr, "CLUSTER", "MYID")
	if err != nil {
		return "", err
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	lines, err := rdb.Do(ctx, "CLUSTER", "REPLICAS", id).StringSlice()
	if err != nil {
		return "", fmt.Errorf("CLUSTER REPLICAS of %s: %w", addr, err)
	}
	for _, l := range lines {
		// <id> <ip:port@cport> <flags> <master> ... (CLUSTER NODES format)
		f := strings.Fields(l)
		if len(f) > 2 && !strings.Contains(f[2], "fail") {
			return strings.SplitN(f[1], "@", 2)[0], nil
		}
	}
	return "", fmt.Errorf("%s has no healthy replica: %q", addr, lines)
}

func (c *Cluster) stop() {
	for _, s := range c.nodes {
		s.stop()
	}
}

func freePortErr() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
