package balance_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestOwner_spreads_tenants_fairly_and_moves_few: over many tenants each
// member owns about its share, and a member that joins takes tenants only
// from the others (none moves between the old members).
func TestOwner_spreads_tenants_fairly_and_moves_few(t *testing.T) {
	three := []string{"c1", "c2", "c3"}
	four := append([]string{"c4"}, three...)
	const n = 3000
	count := map[string]int{}
	for i := range n {
		tenant := fmt.Sprintf("tenant-%d", i)
		before, after := balance.Owner(tenant, three), balance.Owner(tenant, four)
		count[before]++
		if after != before && after != "c4" {
			t.Fatalf("%s moved from %s to %s when c4 joined", tenant, before, after)
		}
	}
	for _, m := range three {
		if c := count[m]; c < n/3-n/20 || c > n/3+n/20 {
			t.Errorf("%s owns %d of %d tenants, want about a third", m, c, n)
		}
	}
	if got := balance.Owner("acme", nil); got != "" {
		t.Errorf("owner without members %q, want none", got)
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  balance.Config
		ok   bool
	}{
		{"the default", balance.DefaultConfig(), true},
		{"rendezvous", balance.Config{Mode: balance.ModeRendezvous, Interval: balance.DefaultInterval}, true},
		{"an unknown mode", balance.Config{Mode: "random"}, false},
		{"rendezvous with a tiny interval", balance.Config{Mode: balance.ModeRendezvous, Interval: 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// fakeTenants serves a tenant when no other fakeTenants of the same
// leases map holds it, as leases do.
type fakeTenants struct {
	id     string
	mu     *sync.Mutex
	leases map[string]string
}

func (f *fakeTenants) Serve(_ context.Context, tenant string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.leases[tenant]; h != "" && h != f.id {
		return false, nil
	}
	f.leases[tenant] = f.id
	return true, nil
}

func (f *fakeTenants) Unserve(_ context.Context, tenant string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leases[tenant] == f.id {
		delete(f.leases, tenant)
	}
	return nil
}

func (f *fakeTenants) Serving(tenant string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leases[tenant] == f.id
}

// TestBalancer_collectors_share_tenants_and_hand_them_over: two balancers
// split the tenants as Owner says; when one shuts down, the other takes
// them all.
func TestBalancer_collectors_share_tenants_and_hand_them_over(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	ctx := context.Background()
	var mu sync.Mutex
	leases := map[string]string{}
	tenants := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"}
	cfg := balance.Config{Mode: balance.ModeRendezvous, Interval: 20 * time.Millisecond, KeyPrefix: "bt"}
	var bs []*balance.Balancer
	for _, id := range []string{"c1", "c2"} {
		c := cfg
		c.ID = id
		b, err := balance.New(rdb, c, tenants, &fakeTenants{id: id, mu: &mu, leases: leases}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
		bs = append(bs, b)
	}
	members := []string{"c1", "c2"}
	settled := func(want func(tenant string) string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, tn := range tenants {
				if leases[tn] != want(tn) {
					return false
				}
			}
			return true
		}
	}
	poll.Until(t, "tenants spread by rendezvous", settled(func(tn string) string { return balance.Owner(tn, members) }))
	if err := bs[0].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "c1's tenants taken by c2", settled(func(string) string { return "c2" }))
}
