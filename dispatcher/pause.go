package dispatcher

import (
	"sync"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
)

// DefaultPauseProbeInterval is how often a paused tenant is probed when
// dispatcher.regal.pause_probe_interval is not set.
const DefaultPauseProbeInterval = regal.DefaultPauseProbeInterval

// tenantGate remembers, per tenant, that Regal refuses the tenant's
// account (a wrong or revoked key, a wrong URL), so that its deliveries are
// answered "tenant paused" at once instead of each costing a refused
// request, except one probe per interval, sent with a real pending event.
// An answer that shows the account works (delivered, or an event Regal
// itself rejected) ends the pause; a probe that got no such answer
// (Regal failing, the dispatcher stopping) keeps it.
//
// The state is this process's own: each dispatcher learns a pause, and its
// end, from its own requests. A restarted dispatcher starts unpaused, so a
// key fixed in the configuration is used at once.
type tenantGate struct {
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	tenants map[string]*pauseState
}

type pauseState struct {
	reason    string
	status    int
	since     time.Time
	nextProbe time.Time
	probing   bool // a probe request is in flight
}

// PauseInfo describes one paused tenant.
type PauseInfo struct {
	Tenant string
	Reason string // a regal.Pause* class
	Status int    // Regal's last HTTP status, 0 if none
	Since  time.Time
}

func newTenantGate(interval time.Duration) *tenantGate {
	if interval <= 0 {
		interval = DefaultPauseProbeInterval
	}
	return &tenantGate{interval: interval, now: time.Now, tenants: map[string]*pauseState{}}
}

// admit says whether a delivery of tenant may go to Regal. It may when the
// tenant is not paused, or when it is and a probe is due (the caller then
// owns the probe and must report its answer with paused or resumed). When
// it may not, wait is the time until the next probe.
func (g *tenantGate) admit(tenant string) (send, probe bool, wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.tenants[tenant]
	if st == nil {
		return true, false, 0
	}
	now := g.now()
	if !st.probing && !now.Before(st.nextProbe) {
		st.probing = true
		return true, true, 0
	}
	if st.probing {
		// The probe's answer decides; offer the tenant again a little after.
		return false, false, min(g.interval, time.Second)
	}
	return false, false, st.nextProbe.Sub(now)
}

// paused records that Regal refused the tenant's account. It reports
// whether the tenant was not paused before (to log the start once) and the
// time until the next probe.
func (g *tenantGate) paused(tenant, reason string, status int) (started bool, wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	st := g.tenants[tenant]
	if st == nil {
		st = &pauseState{since: now}
		g.tenants[tenant] = st
		started = true
	}
	st.reason, st.status, st.probing = reason, status, false
	st.nextProbe = now.Add(g.interval)
	return started, g.interval
}

// resumed ends the tenant's pause, if any, and reports how long it lasted
// (0 when the tenant was not paused).
func (g *tenantGate) resumed(tenant string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.tenants[tenant]
	if st == nil {
		return 0
	}
	delete(g.tenants, tenant)
	return max(g.now().Sub(st.since), time.Nanosecond)
}

// probeFailed ends a probe whose answer says nothing about the account
// (Regal failing, the dispatcher stopping): the tenant stays paused and is
// probed again after the interval. It returns the time until then.
func (g *tenantGate) probeFailed(tenant string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.tenants[tenant]; st != nil {
		st.probing = false
		st.nextProbe = g.now().Add(g.interval)
	}
	return g.interval
}

// probeUnanswered frees the probe slot after a probe whose event was
// settled before Regal said anything about the account (dead-lettered
// without a request): the next delivery of the tenant probes at once.
func (g *tenantGate) probeUnanswered(tenant string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.tenants[tenant]; st != nil {
		st.probing = false
	}
}

// snapshot lists the paused tenants.
func (g *tenantGate) snapshot() []PauseInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]PauseInfo, 0, len(g.tenants))
	for t, st := range g.tenants {
		out = append(out, PauseInfo{Tenant: t, Reason: st.reason, Status: st.status, Since: st.since})
	}
	return out
}
