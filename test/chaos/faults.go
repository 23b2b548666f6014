package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
)

// FaultRecord is one fault as injected.
type FaultRecord struct {
	// At is the time from the start of publishing; Time is the wall
	// clock, comparable with Regal's arrival times.
	At   Duration  `json:"at"`
	Time time.Time `json:"time"`
	Kind FaultKind `json:"kind"`
	// Target names the process or the condition.
	Target string `json:"target,omitempty"`
	// Down is how long the process was down or the condition lasted.
	Down Duration `json:"down,omitempty"`
	// Detail adds what the fault did, e.g. events re-sent.
	Detail string `json:"detail,omitempty"`
	// Error is set when the fault could not be injected.
	Error string `json:"error,omitempty"`
}

// injector runs a fault plan against a cluster.
type injector struct {
	c         *cluster
	publisher *publisher
	burstRate float64
}

// run injects the plan's faults one after the other, each at its time
// from start or when the previous one is over, whichever is later. It
// returns what was injected; a fault that fails is recorded and the
// plan goes on, unless ctx ends.
func (in *injector) run(ctx context.Context, plan []plannedFault, start time.Time) []FaultRecord {
	var done []FaultRecord
	for _, f := range plan {
		if err := sleepUntil(ctx, start.Add(f.At)); err != nil {
			return done
		}
		now := time.Now()
		rec := FaultRecord{At: Duration(now.Sub(start)), Time: now, Kind: f.Kind, Down: Duration(f.Down)}
		var err error
		rec.Target, rec.Detail, err = in.inject(ctx, f)
		if err != nil {
			rec.Error = err.Error()
			in.c.log.Error("fault failed", "kind", f.Kind, "err", err)
		} else {
			in.c.log.Info("fault injected", "kind", f.Kind, "target", rec.Target, "down", f.Down, "detail", rec.Detail)
		}
		done = append(done, rec)
	}
	return done
}

// inject performs one fault and waits until it is over (for the outage
// and the 429 burst, only until it is set: they end by themselves).
func (in *injector) inject(ctx context.Context, f plannedFault) (target, detail string, err error) {
	c := in.c
	switch f.Kind {
	case FaultCollectorKill:
		return c.collector.name, "", in.killAndRestart(ctx, c.collector, f.Down)
	case FaultDispatcherKill:
		d := c.dispatchers[f.Target]
		return d.name, "", in.killAndRestart(ctx, d, f.Down)
	case FaultRedisRestart:
		c.redis.kill()
		if err := sleepUntil(ctx, time.Now().Add(f.Down)); err != nil {
			return c.redis.name, "", err
		}
		if err := c.redis.start(); err != nil {
			return c.redis.name, "", err
		}
		return c.redis.name, "", waitRedis(ctx, c.redisAddr)
	case FaultRegalOutage:
		d := regaldouble.Duration(f.Down)
		return "regal", "503 to every request", c.regalCtl.setFaults(ctx, regaldouble.FaultsUpdate{OutageFor: &d})
	case FaultRateLimitBurst:
		return "regal", fmt.Sprintf("rate limit %g/s", in.burstRate), in.rateLimitBurst(ctx, f.Down)
	case FaultSAPICut:
		return "sapi", "", c.sapiCtl.cut(ctx)
	case FaultSAPIFailover:
		if err := c.sapiCtl.failover(ctx); err != nil {
			return "sapi", "", err
		}
		n, err := in.publisher.republishLast(ctx)
		return "sapi", fmt.Sprintf("%d events re-sent under the new instance", n), err
	}
	return "", "", fmt.Errorf("unknown fault %q", f.Kind)
}

// killAndRestart SIGKILLs a process, keeps it down for down and starts it
// again. A process already restarted after exiting on its own is left
// running.
func (in *injector) killAndRestart(ctx context.Context, p *process, down time.Duration) error {
	p.kill()
	if err := sleepUntil(ctx, time.Now().Add(down)); err != nil {
		return err
	}
	if err := p.start(); err != nil && !isAlreadyRunning(err) {
		return err
	}
	return nil
}

// rateLimitBurst drops Regal's rate limit for d, then lifts it.
func (in *injector) rateLimitBurst(ctx context.Context, d time.Duration) error {
	limit, burst := in.burstRate, 1
	if err := in.c.regalCtl.setFaults(ctx, regaldouble.FaultsUpdate{RateLimit: &limit, RateBurst: &burst}); err != nil {
		return err
	}
	waitErr := sleepUntil(ctx, time.Now().Add(d))
	off, defaultBurst := 0.0, 0
	// Lift the limit even when ctx ended, so the settle wait is not
	// slowed down by it.
	lift, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := in.c.regalCtl.setFaults(lift, regaldouble.FaultsUpdate{RateLimit: &off, RateBurst: &defaultBurst}); err != nil {
		return err
	}
	return waitErr
}
