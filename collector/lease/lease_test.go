package lease_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.WithSharedCluster(m)) }

const prefix = "lt"

// newManager returns a Manager on rdb with ttl, released at the end of the
// test.
func newManager(t *testing.T, rdb redis.UniversalClient, ttl time.Duration, opts ...lease.Option) *lease.Manager {
	t.Helper()
	m, err := lease.New(rdb, lease.Config{KeyPrefix: prefix, TTL: ttl}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Release(context.Background()); err != nil {
			t.Errorf("release: %v", err)
		}
	})
	return m
}

func leaseKey(tenant string) string { return prefix + ":{" + tenant + "}:lease" }

func TestLease_a_live_holder_refuses_a_second_collector(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	first := newManager(t, rdb, time.Second)
	second := newManager(t, rdb, time.Second)
	ctx := context.Background()
	if err := first.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	err := second.Acquire(ctx, "acme")
	var held *lease.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire = %v, want a *lease.HeldError", err)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("tenant acme is served by collector %s/pid %d (lease held, expires in ", host, os.Getpid())
	if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "); stop it first") {
		t.Fatalf("refusal %q, want it to start %q and end with \"); stop it first\"", msg, want)
	}
	if held.Tenant != "acme" || held.Holder != first.Owner() || held.ExpiresIn <= 0 || held.ExpiresIn > time.Second {
		t.Errorf("refusal %+v, want tenant acme held by %s expiring within the ttl", held, first.Owner())
	}
	if !first.Held("acme") || second.Held("acme") || second.AllHeld() {
		t.Errorf("held: first %v, second %v; want only the first", first.Held("acme"), second.Held("acme"))
	}
}

func TestLease_renewal_keeps_it_past_its_ttl(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	const ttl = 300 * time.Millisecond
	m := newManager(t, rdb, ttl)
	ctx := context.Background()
	if err := m.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	taken := time.Now()
	owner, err := rdb.Get(ctx, leaseKey("acme")).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Watch the key through several lifetimes: it must never lapse. Redis
	// expires it on its own clock, so real time must pass; the sleep only
	// paces the checks.
	for time.Since(taken) < 4*ttl {
		v, err := rdb.Get(ctx, leaseKey("acme")).Result()
		if err != nil || v != owner {
			t.Fatalf("after %s the lease is %q (%v), want it still %q", time.Since(taken), v, err, owner)
		}
		if !m.Held("acme") || !m.AllHeld() {
			t.Fatalf("after %s Held is false", time.Since(taken))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLease_release_lets_another_take_it_at_once(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	first := newManager(t, rdb, time.Hour) // never expires during the test
	second := newManager(t, rdb, time.Hour)
	ctx := context.Background()
	if err := first.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if first.Held("acme") {
		t.Error("still held after Release")
	}
	// Without the release the second would wait an hour.
	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := second.Acquire(quick, "acme"); err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	if !second.Held("acme") {
		t.Error("second does not hold the lease it took")
	}
	// Releasing again, or releasing a lease now another's, touches nothing.
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !second.Held("acme") || rdb.Exists(ctx, leaseKey("acme")).Val() != 1 {
		t.Error("the first collector's second release removed the second's lease")
	}
}

// TestLease_abandon_stops_renewing_and_leaves_the_lease_to_lapse: a
// collector whose readers did not stop abandons its leases: they are not
// deleted (another collector waits out their TTL) and not renewed.
func TestLease_abandon_stops_renewing_and_leaves_the_lease_to_lapse(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	m := newManager(t, rdb, 2*time.Second)
	ctx := context.Background()
	if err := m.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := m.Abandon(); err != nil {
		t.Fatal(err)
	}
	if rdb.Exists(ctx, leaseKey("acme")).Val() != 1 {
		t.Fatal("the abandoned lease was deleted: another collector could take the tenant at once")
	}
	poll.Until(t, "the abandoned lease to lapse (no renewal)", func() bool { return rdb.Exists(ctx, leaseKey("acme")).Val() == 0 })
}

func TestLease_a_crashed_holder_lease_expires_and_is_taken(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	ctx := context.Background()
	// A collector that crashed: its lease is there, and nobody renews it.
	crashed := `{"id":"0000","host":"host-1","pid":1234}`
	if err := rdb.Set(ctx, leaseKey("acme"), crashed, 400*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, rdb, 400*time.Millisecond)
	if err := m.Acquire(ctx, "acme"); err != nil {
		t.Fatalf("Acquire over a lease nobody renews: %v", err)
	}
	if v := rdb.Get(ctx, leaseKey("acme")).Val(); v == crashed || !m.Held("acme") {
		t.Fatalf("lease %q after Acquire, want this collector's", v)
	}
}

func TestLease_a_lease_without_expiry_is_refused_at_once(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	ctx := context.Background()
	if err := rdb.Set(ctx, leaseKey("acme"), `{"id":"1","host":"host-1","pid":1234}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, rdb, time.Second)
	err := m.Acquire(ctx, "acme")
	if err == nil || err.Error() != "tenant acme is served by collector host-1/pid 1234 (lease held, no expiry); stop it first" {
		t.Fatalf("Acquire = %v", err)
	}
}

func TestLease_lost_to_another_collector_is_reported(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	var mu sync.Mutex
	var lost []string
	m := newManager(t, rdb, 300*time.Millisecond, lease.WithOnLost(func(tenant, holder string) {
		mu.Lock()
		defer mu.Unlock()
		lost = append(lost, tenant+" to "+holder)
	}))
	ctx := context.Background()
	if err := m.AcquireAll(ctx, []string{"acme", "globex"}); err != nil {
		t.Fatal(err)
	}
	// Another collector overwrites the lease (as one would after a long
	// pause of this one).
	if err := rdb.Set(ctx, leaseKey("acme"), `{"id":"2","host":"host-2","pid":99}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the loss reported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lost) == 1
	})
	if lost[0] != "acme to host-2/pid 99" || m.Held("acme") || !m.Held("globex") || m.AllHeld() {
		t.Fatalf("lost %q, held acme %v globex %v", lost, m.Held("acme"), m.Held("globex"))
	}
	// Release leaves the other collector's lease alone.
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, leaseKey("acme")).Val(); !strings.Contains(v, "host-2") {
		t.Fatalf("lease after release %q, want the other collector's", v)
	}
}

// TestLease_unreachable_redis_past_the_ttl_loses_the_lease: a lease whose
// renewals do not reach Redis for longer than its TTL less the margin is
// lost by the local clock (another collector may take it any moment), even
// while a renewal still waits, and stays lost once Redis answers again.
func TestLease_unreachable_redis_past_the_ttl_loses_the_lease(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	rdb := srv.Client(t)
	var mu sync.Mutex
	var lost []string
	m := newManager(t, rdb, 300*time.Millisecond, lease.WithOnLost(func(tenant, holder string) {
		mu.Lock()
		defer mu.Unlock()
		lost = append(lost, tenant+" to "+holder)
	}))
	ctx := context.Background()
	if err := m.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	// Every other client's commands wait for 2 s: renewals hang.
	admin := srv.Client(t)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 2000, "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the loss reported while Redis does not answer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lost) == 1
	})
	if lost[0] != "acme to " || m.Held("acme") || m.AllHeld() {
		t.Fatalf("lost %q, held %v; want acme lost to nobody known, not held", lost, m.Held("acme"))
	}
	if _, ok := m.Token("acme"); ok {
		t.Fatal("a token is handed out for a lost lease")
	}
	// Redis answers again: the lease stays lost (this collector stopped
	// serving the tenant).
	poll.Until(t, "Redis answering again", func() bool { return admin.Ping(ctx).Err() == nil })
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if m.Held("acme") {
		t.Fatal("a lost lease is held again")
	}
}

// TestLease_each_acquisition_gets_a_greater_token: every acquisition of a
// tenant's lease, by any collector, gets a token greater than the earlier
// ones; the tokens of different tenants are independent, and a token is
// handed out only while the lease is held.
func TestLease_each_acquisition_gets_a_greater_token(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	ctx := context.Background()
	var last uint64
	for i := range 4 {
		m, err := lease.New(rdb, lease.Config{KeyPrefix: prefix, TTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Token("acme"); ok {
			t.Fatal("a token before the lease is taken")
		}
		if err := m.Acquire(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		tok, ok := m.Token("acme")
		if !ok || tok <= last {
			t.Fatalf("acquisition %d: token %d (held %v), want above %d", i, tok, ok, last)
		}
		// Taking it again in the same process keeps its token.
		if err := m.Acquire(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if again, _ := m.Token("acme"); again != tok {
			t.Fatalf("token %d after acquiring again, want %d", again, tok)
		}
		last = tok
		if err := m.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Token("acme"); ok {
			t.Fatal("a token after the lease is released")
		}
	}
	other := newManager(t, rdb, time.Second)
	if err := other.Acquire(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := other.Token("globex"); tok != 1 {
		t.Fatalf("first token of another tenant %d, want 1", tok)
	}
}

// TestLease_a_lapsed_lease_taken_since_is_lost: a lease that lapsed in
// Redis while this collector did not renew it (a pause) and that another
// collector acquired and released since is lost at the next renewal, not
// taken again: the other holder's token fenced this one's writes.
func TestLease_a_lapsed_lease_taken_since_is_lost(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	lost := make(chan string, 1)
	m := newManager(t, rdb, 3*time.Second, lease.WithOnLost(func(tenant, holder string) { lost <- holder }))
	ctx := context.Background()
	if err := m.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	// The lease lapses (deleted, as its TTL would), another collector
	// takes it and gives it back, between two renewals.
	if err := rdb.Del(ctx, leaseKey("acme")).Err(); err != nil {
		t.Fatal(err)
	}
	other, err := lease.New(rdb, lease.Config{KeyPrefix: prefix, TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Acquire(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case holder := <-lost:
		if !strings.Contains(holder, "since gone") {
			t.Errorf("lost to %q, want a holder since gone", holder)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the loss was not reported")
	}
	if n := rdb.Exists(ctx, leaseKey("acme")).Val(); n != 0 || m.Held("acme") {
		t.Fatal("the lapsed lease was taken again")
	}
}

func TestLease_acquire_all_gives_back_what_it_took_when_refused(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	other := newManager(t, rdb, time.Second)
	m := newManager(t, rdb, time.Second)
	ctx := context.Background()
	if err := other.Acquire(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	var held *lease.HeldError
	if err := m.AcquireAll(ctx, []string{"acme", "globex"}); !errors.As(err, &held) || held.Tenant != "globex" {
		t.Fatalf("AcquireAll = %v, want globex refused", err)
	}
	if n := rdb.Exists(ctx, leaseKey("acme")).Val(); n != 0 || m.Held("acme") {
		t.Fatal("acme's lease kept after the refusal")
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     lease.Config
		wantErr string
	}{
		{"defaults", lease.Config{KeyPrefix: "ccb"}, ""},
		{"no_prefix", lease.Config{}, "key_prefix"},
		{"renew_too_late", lease.Config{KeyPrefix: "ccb", TTL: time.Second, RenewEvery: 800 * time.Millisecond}, "renew_every"},
		{"margin_leaves_no_time_to_renew", lease.Config{KeyPrefix: "ccb", TTL: time.Second, RenewEvery: 500 * time.Millisecond, Margin: 500 * time.Millisecond}, "margin"},
		{"negative_margin", lease.Config{KeyPrefix: "ccb", TTL: time.Second, Margin: -time.Millisecond}, "margin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SetDefaults()
			err := tt.cfg.Validate()
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestLease_held_gauge_per_tenant(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	m := newManager(t, rdb, 300*time.Millisecond, lease.WithMeter(provider.Meter("test")))
	ctx := context.Background()
	gauge := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				if g, ok := mt.Data.(metricdata.Gauge[int64]); ok && mt.Name == "ccb.collector.lease.held" {
					for _, p := range g.DataPoints {
						tenant, _ := p.Attributes.Value("tenant")
						out[tenant.AsString()] = p.Value
					}
				}
			}
		}
		return out
	}
	if err := m.AcquireAll(ctx, []string{"acme", "globex"}); err != nil {
		t.Fatal(err)
	}
	if got := gauge(); got["acme"] != 1 || got["globex"] != 1 {
		t.Fatalf("held gauge %v, want 1 for both tenants", got)
	}
	if err := rdb.Set(ctx, leaseKey("acme"), `{"id":"2","host":"host-2","pid":99}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the loss", func() bool { return !m.Held("acme") })
	if got := gauge(); got["acme"] != 0 || got["globex"] != 1 {
		t.Fatalf("held gauge %v after acme was taken over, want acme 0, globex 1", got)
	}
	if err := m.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gauge(); len(got) != 0 {
		t.Fatalf("held gauge %v after release, want none: the process serves no tenant", got)
	}
}

func TestLease_CheckHeld_names_the_tenants_not_held(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	m := newManager(t, rdb, time.Second)
	if err := m.Acquire(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tenants []string
		want    string // "" = holds
	}{
		{"every tenant held", []string{"acme"}, ""},
		{"no tenant to hold", nil, ""},
		{"a tenant not taken is named", []string{"acme", "globex"}, "tenant lease not held: globex"},
		{"every missing tenant is named, in order", []string{"initech", "acme", "globex"}, "tenant lease not held: initech, globex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.CheckHeld(tt.tenants)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Fatalf("CheckHeld(%q) = %v, want %q", tt.tenants, err, tt.want)
			}
		})
	}
}

// TestLease_try_acquire_takes_a_free_lease_and_release_tenant_hands_it_over:
// TryAcquire does not wait for a live holder; ReleaseTenant gives up one
// lease (the others stay) so another collector takes it at once, with a
// greater token; the token gauge and acquisition counter follow.
func TestLease_try_acquire_takes_a_free_lease_and_release_tenant_hands_it_over(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{AppendOnly: true}).Client(t)
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	first := newManager(t, rdb, time.Second, lease.WithMeter(provider.Meter("test")))
	second := newManager(t, rdb, time.Second)
	ctx := context.Background()
	points := func(name string) map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				if mt.Name != name {
					continue
				}
				var dps []metricdata.DataPoint[int64]
				switch d := mt.Data.(type) {
				case metricdata.Gauge[int64]:
					dps = d.DataPoints
				case metricdata.Sum[int64]:
					dps = d.DataPoints
				}
				for _, p := range dps {
					tenant, _ := p.Attributes.Value("tenant")
					out[tenant.AsString()] = p.Value
				}
			}
		}
		return out
	}
	for _, tenant := range []string{"acme", "globex"} {
		if ok, _, err := first.TryAcquire(ctx, tenant); err != nil || !ok {
			t.Fatalf("first TryAcquire(%s) = %v, %v; want taken", tenant, ok, err)
		}
	}
	if ok, _, err := first.TryAcquire(ctx, "acme"); err != nil || !ok {
		t.Fatalf("TryAcquire of a lease held already = %v, %v; want taken", ok, err)
	}
	ok, holder, err := second.TryAcquire(ctx, "acme")
	if err != nil || ok || holder != first.Owner() {
		t.Fatalf("second TryAcquire = %v, %q, %v; want refused, held by %s", ok, holder, err, first.Owner())
	}
	firstToken, _ := first.Token("acme")
	if got := points("ccb.collector.lease.token"); got["acme"] != int64(firstToken) {
		t.Fatalf("token gauge %v, want acme %d", got, firstToken)
	}
	if err := first.ReleaseTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if first.Held("acme") || !first.Held("globex") {
		t.Fatal("ReleaseTenant must give up acme only")
	}
	if ok, _, err := second.TryAcquire(ctx, "acme"); err != nil || !ok {
		t.Fatalf("TryAcquire after the release = %v, %v; want taken at once", ok, err)
	}
	if tok, _ := second.Token("acme"); tok <= firstToken {
		t.Fatalf("token after hand-over %d, want more than %d", tok, firstToken)
	}
	if got := points("ccb.collector.lease.token"); got["acme"] != 0 {
		t.Fatalf("token gauge %v after release, want acme 0", got)
	}
	if got := points("ccb.collector.lease.acquired"); got["acme"] != 1 || got["globex"] != 1 {
		t.Fatalf("acquired counter %v, want one acquisition of each", got)
	}
}
