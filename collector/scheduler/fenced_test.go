package scheduler

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/internal/poll"
)

func tenantEntry(tenant, key string) eventstore.Entry {
	e := entry(key)
	e.Ref.Tenant = tenant
	return e
}

// fencingSink refuses the settlements of the fenced tenants, as the event
// store does for a collector another took them over from, and makes the
// others.
type fencingSink struct {
	mu     sync.Mutex
	fenced []string
	got    []eventstore.Settlement
}

func (k *fencingSink) Settle(_ context.Context, sts []eventstore.Settlement) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var refused []string
	for _, st := range sts {
		if t := st.Entry.Ref.Tenant; slices.Contains(k.fenced, t) {
			if !slices.Contains(refused, t) {
				refused = append(refused, t)
			}
			continue
		}
		k.got = append(k.got, st)
	}
	if len(refused) > 0 {
		return &eventstore.FencedError{Tenants: refused}
	}
	return nil
}

func (k *fencingSink) settledKeys() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, st := range k.got {
		out = append(out, st.Entry.Ref.Tenant+"/"+st.Entry.Event.GetOrderKey())
	}
	return out
}

// TestDropTenant_forgets_the_tenant_and_serves_the_others: a dropped
// tenant's events are handed out no more, its in-flight delivery's ack is
// ignored, later enqueues of it are dropped, and its buffered events are
// no longer counted; the other tenant goes on.
func TestDropTenant_forgets_the_tenant_and_serves_the_others(t *testing.T) {
	sink := &settleSink{}
	s := newSched(t, testConfig(), sink)
	d := s.Join("d1", 10)
	a1, a2, g1 := tenantEntry("acme", "int-a"), tenantEntry("acme", "int-a"), tenantEntry("globex", "int-g")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{a1, a2, g1}); err != nil {
		t.Fatal(err)
	}
	var acmeFlight Delivery
	for range 2 {
		if got := next(t, d); got.Entry.Ref.Tenant == "acme" {
			acmeFlight = got
		}
	}
	if acmeFlight.Entry.Ref != a1.Ref {
		t.Fatalf("acme's delivery %v, want %v", acmeFlight.Entry.Ref, a1.Ref)
	}
	s.DropTenant("acme")
	s.DropTenant("acme") // idempotent
	if !s.Dropped("acme") || s.Dropped("globex") {
		t.Fatal("Dropped does not report the dropped tenant only")
	}
	if err := s.Ack(d, acmeFlight.ID, Result{Outcome: Delivered}); !errors.Is(err, ErrUnknownDelivery) {
		t.Fatalf("ack of the dropped tenant's delivery: %v, want ErrUnknownDelivery", err)
	}
	if err := s.Enqueue(context.Background(), []eventstore.Entry{tenantEntry("acme", "int-b")}); err != nil {
		t.Fatal(err)
	}
	g2 := tenantEntry("globex", "int-g2")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{g2}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, d); got.Entry.Ref != g2.Ref {
		t.Fatalf("delivery after the drop %v, want globex's %v", got.Entry.Ref, g2.Ref)
	}
	noDelivery(t, d)
	st := s.Stats()
	if st.Buffered != 2 || st.Keys != 2 || st.InFlight != 2 || st.InFlightBy["d1"] != 2 {
		t.Fatalf("stats %+v, want only globex's two events buffered and in flight", st)
	}
	if len(sink.settled()) != 0 {
		t.Fatalf("settled %v, want nothing", sink.settled())
	}
}

// TestFencedSettlement_drops_the_tenant_and_settles_the_others: when the
// store refuses a tenant's settlements (another collector holds it), the
// scheduler drops that tenant and still makes the others' settlements,
// releasing their next events.
func TestFencedSettlement_drops_the_tenant_and_settles_the_others(t *testing.T) {
	sink := &fencingSink{fenced: []string{"acme"}}
	cfg := testConfig()
	s := newSched(t, cfg, sink)
	d := s.Join("d1", 10)
	a1, a2 := tenantEntry("acme", "int-a"), tenantEntry("acme", "int-a")
	g1, g2 := tenantEntry("globex", "int-g"), tenantEntry("globex", "int-g")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{a1, a2, g1, g2}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got := next(t, d)
		if err := s.Ack(d, got.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "acme dropped", func() bool { return s.Dropped("acme") })
	if got := next(t, d); got.Entry.Ref != g2.Ref {
		t.Fatalf("next delivery %v, want globex's second %v", got.Entry.Ref, g2.Ref)
	}
	noDelivery(t, d)
	if got := sink.settledKeys(); !slices.Equal(got, []string{"globex/int-g"}) {
		t.Fatalf("settled %v, want globex's first only", got)
	}
}

// TestAdoptTenant_serves_a_dropped_tenant_again: after DropTenant and
// AdoptTenant, the tenant's enqueues are accepted and handed out again.
func TestAdoptTenant_serves_a_dropped_tenant_again(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	d := s.Join("d1", 10)
	s.DropTenant("acme")
	s.AdoptTenant("acme")
	s.AdoptTenant("globex") // not dropped: a no-op
	if s.Dropped("acme") {
		t.Fatal("acme still dropped after AdoptTenant")
	}
	a := tenantEntry("acme", "int-a")
	if err := s.Enqueue(context.Background(), []eventstore.Entry{a}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, d); got.Entry.Ref != a.Ref {
		t.Fatalf("delivery %v, want acme's %v", got.Entry.Ref, a.Ref)
	}
}

// TestTenantIdle_until_every_event_of_the_tenant_is_settled: a tenant
// with a buffered or in-flight event is not idle; once it is settled it
// is, whatever the other tenants hold.
func TestTenantIdle_until_every_event_of_the_tenant_is_settled(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	d := s.Join("d1", 10)
	if !s.TenantIdle("acme") {
		t.Fatal("a tenant never enqueued is not idle")
	}
	if err := s.Enqueue(context.Background(), []eventstore.Entry{tenantEntry("acme", "int-a"), tenantEntry("globex", "int-g")}); err != nil {
		t.Fatal(err)
	}
	if s.TenantIdle("acme") {
		t.Fatal("a tenant with a buffered event is idle")
	}
	for range 2 {
		got := next(t, d)
		if got.Entry.Ref.Tenant != "acme" {
			continue
		}
		if s.TenantIdle("acme") {
			t.Fatal("a tenant with a delivery in flight is idle")
		}
		if err := s.Ack(d, got.ID, Result{Outcome: Delivered}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "acme idle", func() bool { return s.TenantIdle("acme") })
	if s.TenantIdle("globex") {
		t.Fatal("globex, in flight, is idle")
	}
}
