package collector_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
)

// balanceTenants are the tenants every collector of the balancing tests
// is configured with.
var balanceTenants = func() []string {
	out := make([]string, 12)
	for i := range out {
		out[i] = fmt.Sprintf("tenant%02d", i)
	}
	return out
}()

// balanceConfig is collector id of the collectors sharing balanceTenants
// in rendezvous mode.
func balanceConfig(redisAddr string, double *sapidouble.Server, id string) *config.Config {
	cfg := collectorConfig(redisAddr, double)
	cfg.Tenants = nil
	for _, tn := range balanceTenants {
		cfg.Tenants = append(cfg.Tenants, config.Tenant{Name: tn,
			SAPI: config.TenantSAPI{BaseURL: double.URL(), Username: tn, Token: leaseSAPIToken, SubscriptionID: "regal-bridge"}})
	}
	cfg.Collector.Lease.TTL = time.Second
	cfg.Collector.Balance = balance.Config{Mode: balance.ModeRendezvous, Interval: 100 * time.Millisecond, ID: id}
	return cfg
}

// TestCollector_rendezvous_spreads_tenants_and_moves_them: three
// collectors in rendezvous mode share twelve tenants as rendezvous
// hashing says, one holder each; a fourth that joins takes its share; one
// that shuts down hands its tenants to the others; and a lost lease is
// taken back by its owner without a restart.
func TestCollector_rendezvous_spreads_tenants_and_moves_them(t *testing.T) {
	creds := map[string]sapidouble.Credentials{}
	for _, tn := range balanceTenants {
		creds[tn] = sapidouble.Credentials{Username: tn, Token: leaseSAPIToken}
	}
	double := sapidouble.New(sapidouble.Config{Tenants: creds}, nil)
	if err := double.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = double.Shutdown(context.Background()) })
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	running := map[string]*runningCollector{}
	start := func(id string) {
		c := newCollector(t, balanceConfig(redis.Addr, double, id), nil)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if c.BalanceID() != id {
			t.Fatalf("balance id %q, want %q", c.BalanceID(), id)
		}
		running[id] = c
	}
	// spread reports whether every tenant has exactly one holder, its
	// rendezvous owner among the running collectors, and what each holds.
	spread := func() (bool, map[string][]string) {
		ids := slices.Sorted(maps.Keys(running))
		held := map[string][]string{}
		holders := map[string]int{}
		for id, c := range running {
			held[id] = c.ServedTenants()
			for _, tn := range held[id] {
				holders[tn]++
				if balance.Assign(balanceTenants, ids)[tn] != id {
					return false, held
				}
			}
		}
		for _, tn := range balanceTenants {
			if holders[tn] != 1 {
				return false, held
			}
		}
		return true, held
	}
	// settle waits for the spread and checks every collector holds
	// between lo and hi tenants (the bounds rendezvous gives these ids).
	settle := func(what string, lo, hi int) {
		t.Helper()
		poll.Until(t, what, func() bool { ok, _ := spread(); return ok })
		_, held := spread()
		for id, tns := range held {
			if len(tns) < lo || len(tns) > hi {
				t.Errorf("%s: %s holds %d tenants %v, want %d to %d", what, id, len(tns), tns, lo, hi)
			}
			if got := running[id].metric(t, "ccb_collector_tenants_served"); int(got) != len(tns) {
				t.Errorf("%s: %s reports %v tenants served, holds %d", what, id, got, len(tns))
			}
		}
		for _, tn := range balanceTenants {
			if n := double.Subscribers(tn); n > 1 {
				t.Errorf("%s: %s has %d SAPI streams open, want at most one", what, tn, n)
			}
		}
	}

	for _, id := range []string{"c1", "c2", "c3"} {
		start(id)
	}
	// Rendezvous spreads few tenants unevenly: with these ids and twelve
	// tenants, 7, 2 and 3 (fair over many tenants: see collector/balance).
	settle("three collectors share the tenants", 4, 4)

	start("c4")
	settle("the fourth takes its share", 3, 3)

	// The goal is a hand-over within 2 s of SIGTERM: the leaving collector
	// deregisters and releases its leases, and the others take them at
	// their next round (collector.balance.interval).
	if err := running["c2"].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	delete(running, "c2")
	settle("c2's tenants go to the others", 4, 4)

	// A lost lease: another holder takes it until its TTL; the owner then
	// takes it back, with a greater token, without a restart.
	c1 := running["c1"]
	victim := c1.ServedTenants()[0]
	before, _ := c1.Leases().Token(victim)
	rdb := redis.Client(t)
	if err := rdb.Set(ctx, "ct:{"+victim+"}:lease", `{"id":"9","host":"host-2","pid":4321}`, 1500*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the lost tenant closed", func() bool { return !c1.Serving(victim) })
	poll.Until(t, "the lost tenant taken back", func() bool { return c1.Serving(victim) })
	if after, _ := c1.Leases().Token(victim); after <= before {
		t.Errorf("token after taking the tenant back %d, want more than %d", after, before)
	}
	select {
	case <-c1.Lost():
		t.Error("Lost() closed in rendezvous mode: the process would exit")
	default:
	}
	if got := c1.metric(t, "ccb_collector_lease_acquired_total", `tenant="`+victim+`"`); got != 2 {
		t.Errorf("ccb_collector_lease_acquired_total of %s = %v, want 2", victim, got)
	}
	settle("every tenant held once after the loss", 4, 4)
}
