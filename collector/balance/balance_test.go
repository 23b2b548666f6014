package balance_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
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

// TestAssign_keeps_every_member_within_its_share: the bounded
// assignment gives each member at most ceil(tenants/members), every
// tenant one owner, the same result for any order of the inputs, and a
// member that joins takes tenants from the others without moving many
// between them.
func TestAssign_keeps_every_member_within_its_share(t *testing.T) {
	tenantsOf := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("tenant-%02d", i)
		}
		return out
	}
	tests := []struct {
		name    string
		tenants int
		members []string
		lo, hi  int
	}{
		{"twelve_over_three", 12, []string{"c1", "c2", "c3"}, 4, 4},
		{"twelve_over_four", 12, []string{"c1", "c2", "c3", "c4"}, 3, 3},
		{"thirteen_over_three", 13, []string{"c1", "c2", "c3"}, 3, 5},
		{"two_over_three", 2, []string{"c1", "c2", "c3"}, 0, 1},
		{"none", 0, []string{"c1"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenants := tenantsOf(tt.tenants)
			got := balance.Assign(tenants, tt.members)
			if len(got) != len(tenants) {
				t.Fatalf("%d of %d tenants assigned", len(got), len(tenants))
			}
			count := map[string]int{}
			for _, m := range got {
				count[m]++
			}
			for _, m := range tt.members {
				if count[m] < tt.lo || count[m] > tt.hi {
					t.Errorf("%s owns %d tenants, want %d to %d (%v)", m, count[m], tt.lo, tt.hi, got)
				}
			}
			reversed := slices.Clone(tenants)
			slices.Reverse(reversed)
			members := slices.Clone(tt.members)
			slices.Reverse(members)
			if again := balance.Assign(reversed, members); !maps.Equal(again, got) {
				t.Errorf("another order of the inputs assigns %v, want %v", again, got)
			}
		})
	}
	if got := balance.Assign([]string{"acme"}, nil); len(got) != 0 {
		t.Errorf("without members %v, want no owner", got)
	}
	// A fourth member joining twelve tenants over three: it takes its
	// three, and few others move (each of the three gives up one, and
	// the bound may shift a few more).
	tenants := tenantsOf(12)
	before := balance.Assign(tenants, []string{"c1", "c2", "c3"})
	after := balance.Assign(tenants, []string{"c1", "c2", "c3", "c4"})
	moved := 0
	for _, tn := range tenants {
		if after[tn] != before[tn] {
			moved++
		}
	}
	if moved > 6 {
		t.Errorf("%d of 12 tenants moved when a fourth member joined, want few (%v → %v)", moved, before, after)
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
	poll.Until(t, "tenants spread by rendezvous", settled(func(tn string) string { return balance.Assign(tenants, members)[tn] }))
	if err := bs[0].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "c1's tenants taken by c2", settled(func(string) string { return "c2" }))
}
