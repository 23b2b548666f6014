package lease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestLease_on_a_cluster runs the lease's contract on a Redis Cluster:
// each lease is one key, so its scripts keep to one slot. The leases stay
// with their holder across a manual failover of their primary.
func TestLease_on_a_cluster(t *testing.T) {
	srv := redistest.ClusterBackend().Start(t, redistest.Options{})
	rdb := srv.Client(t)
	ctx := context.Background()
	// The cluster is shared by the test binary: keys of this test's own.
	newClusterManager := func(t *testing.T, ttl time.Duration) *lease.Manager {
		t.Helper()
		m, err := lease.New(rdb, lease.Config{KeyPrefix: "lt-cluster-" + t.Name(), TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Release(context.Background()) })
		return m
	}
	refused := func(t *testing.T, m *lease.Manager, tenant string) {
		t.Helper()
		var held *lease.HeldError
		if err := m.Acquire(ctx, tenant); !errors.As(err, &held) {
			t.Fatalf("Acquire of %s = %v, want a *lease.HeldError", tenant, err)
		}
	}
	tenants := []string{"acme", "globex", "initech", "umbrella"} // spread over the slots

	t.Run("a_live_holder_refuses_a_second_and_release_frees_at_once", func(t *testing.T) {
		first, second := newClusterManager(t, time.Second), newClusterManager(t, time.Second)
		if err := first.AcquireAll(ctx, tenants); err != nil {
			t.Fatal(err)
		}
		for _, tn := range tenants {
			refused(t, second, tn)
		}
		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := second.AcquireAll(ctx, tenants); err != nil {
			t.Fatalf("after the release: %v", err)
		}
	})
	t.Run("leases_stay_with_their_holder_across_a_failover", func(t *testing.T) {
		const ttl = 2 * time.Second
		first, second := newClusterManager(t, ttl), newClusterManager(t, ttl)
		if err := first.AcquireAll(ctx, tenants); err != nil {
			t.Fatal(err)
		}
		key := "lt-cluster-" + t.Name() + ":{acme}:lease"
		holder, err := rdb.Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		srv.Cluster.FailoverKey(t, key)
		// Across renewals after the switch the holder keeps every lease
		// and the key on the new primary names it.
		deadline := time.Now().Add(2 * ttl)
		for time.Now().Before(deadline) {
			owner, err := rdb.Get(ctx, key).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				continue // the client is learning the new layout
			}
			if owner != holder {
				t.Fatalf("after the failover the lease of acme is %q, want %q", owner, holder)
			}
			if !first.AllHeld() {
				t.Fatal("after the failover the holder lost a lease")
			}
			time.Sleep(50 * time.Millisecond) // paces the checks only
		}
		for _, tn := range tenants {
			refused(t, second, tn)
		}
	})
}
