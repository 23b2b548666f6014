package chaos

import (
	"math/rand/v2"
	"time"
)

// FaultKind names a kind of fault.
type FaultKind string

// The faults a run injects.
const (
	// FaultCollectorKill: SIGKILL the collector, restart it after Down.
	FaultCollectorKill FaultKind = "collector_kill"
	// FaultDispatcherKill: SIGKILL one dispatcher, restart it after Down.
	FaultDispatcherKill FaultKind = "dispatcher_kill"
	// FaultRedisRestart: SIGKILL Redis, restart it on the same port and
	// directory after Down; its AOF brings the data back.
	FaultRedisRestart FaultKind = "redis_restart"
	// FaultRegalOutage: Regal answers 503 to everything for Down.
	FaultRegalOutage FaultKind = "regal_outage"
	// FaultRateLimitBurst: Regal's rate limit drops to
	// Options.BurstRateLimit for Down (429s).
	FaultRateLimitBurst FaultKind = "regal_429_burst"
	// FaultSAPICut: the SAPI double ends the stream cleanly.
	FaultSAPICut FaultKind = "sapi_cut"
	// FaultSAPIFailover: the SAPI double moves to another instance and
	// re-sends the last chunk under the new instance.
	FaultSAPIFailover FaultKind = "sapi_failover"
)

// plannedFault is one fault of a run's plan.
type plannedFault struct {
	// At is the time from the start of publishing.
	At   time.Duration
	Kind FaultKind
	// Target is the dispatcher, for FaultDispatcherKill.
	Target int
	// Down is how long the process stays down or the condition lasts.
	Down time.Duration
}

// planFaults spreads the faults of o over the first 90 % of the publishing
// time, in time order: each fault gets a slot of its own in a seeded
// order, at a seeded point in the first half of the slot, so that order
// and timing vary with the seed. (The injector runs them one after the
// other: a kill is over, its process restarted, before the next fault.)
func planFaults(o Options, r *rand.Rand) []plannedFault {
	var plan []plannedFault
	add := func(kind FaultKind, n int, down func() time.Duration) {
		for range n {
			f := plannedFault{Kind: kind, Down: down()}
			if kind == FaultDispatcherKill {
				f.Target = r.IntN(o.Dispatchers)
			}
			plan = append(plan, f)
		}
	}
	between := func(low, high time.Duration) func() time.Duration {
		return func() time.Duration { return low + time.Duration(r.Int64N(int64(high-low)+1)) }
	}
	add(FaultCollectorKill, o.CollectorKills, between(300*time.Millisecond, 3*time.Second))
	add(FaultDispatcherKill, o.DispatcherKills, between(200*time.Millisecond, 2*time.Second))
	add(FaultRedisRestart, o.RedisRestarts, between(500*time.Millisecond, 2*time.Second))
	add(FaultRateLimitBurst, o.RateLimitBursts, between(3*time.Second, 6*time.Second))
	add(FaultSAPICut, o.SAPICuts, between(0, 0))
	add(FaultSAPIFailover, o.SAPIFailovers, between(0, 0))
	if o.RegalOutage > 0 {
		add(FaultRegalOutage, 1, between(o.RegalOutage, o.RegalOutage))
	}
	r.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	if len(plan) == 0 {
		return nil
	}
	window := o.PublishFor * 9 / 10
	slot := window / time.Duration(len(plan))
	for i := range plan {
		plan[i].At = time.Duration(i)*slot + time.Duration(r.Int64N(int64(slot/2)+1))
	}
	return plan
}
