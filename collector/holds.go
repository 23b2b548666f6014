package collector

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
)

// restoreHolds applies the dead-letter policy to the interactions an
// earlier run left held behind a dead letter, before the tenant's
// unsettled events are scheduled: under hold they stay held (recovery must
// not release them); under skip every hold ends, the parked events leave
// the delivery stream as plain dead letters, and their interactions go on.
func (c *Collector) restoreHolds(ctx context.Context, tenant string) error {
	hold := c.policy() == scheduler.PolicyHold
	var held []scheduler.HeldKey
	released := 0
	for p := range c.store.Partitions() {
		if !hold {
			keys, err := c.store.Unhold(ctx, tenant, p)
			if err != nil {
				return err
			}
			released += len(keys)
			continue
		}
		hs, err := c.store.HeldInteractions(ctx, tenant, p)
		if err != nil {
			return err
		}
		for _, h := range hs {
			held = append(held, scheduler.HeldKey{Tenant: tenant, Partition: h.Partition, OrderKey: h.OrderKey, From: h.From})
		}
	}
	c.sched.Hold(held)
	if len(held) > 0 {
		c.logger.Warn("interactions held behind a dead letter stay held until it is replayed",
			"tenant", tenant, "interactions", len(held))
	}
	if released > 0 {
		c.logger.Warn("dead_letter_policy is skip: interactions held behind a dead letter go on; the letters stay for replay",
			"tenant", tenant, "interactions", released)
	}
	return nil
}

func (c *Collector) policy() string { return c.cfg.Collector.Scheduler.DeadLetterPolicy }

// releaseHeld schedules the events of interactions whose hold Redis no
// longer records (their dead letter was replayed or dropped): each one's
// events are read again from its partition's stream, in order, the
// replayed event (if any) first. It must run in the tenant's admitter
// (pipeline.do), so no admission interleaves. Redis errors are retried
// until Redis answers or the collector stops; a collector that stops
// first schedules them at its next start, from Redis.
func (c *Collector) releaseHeld(tenant string, keys []string) {
	byPartition := map[int]map[string]bool{}
	from := map[int]string{}
	for _, k := range keys {
		h, ok := c.sched.IsHeld(tenant, k)
		if !ok {
			continue
		}
		if byPartition[h.Partition] == nil {
			byPartition[h.Partition] = map[string]bool{}
		}
		byPartition[h.Partition][k] = true
		if f, ok := from[h.Partition]; !ok || scheduler.LessStreamID(h.From, f) {
			from[h.Partition] = h.From
		}
	}
	for p, set := range byPartition {
		var pending map[string][]eventstore.Entry
		backoff := 100 * time.Millisecond
		for {
			ctx, cancel := context.WithTimeout(c.stopping, 10*time.Second)
			var err error
			pending, err = c.store.PendingOf(ctx, tenant, p, from[p], set)
			cancel()
			if err == nil {
				break
			}
			if c.stopping.Err() != nil {
				return
			}
			c.logger.Error("reading the events of released interactions failed; retrying", "tenant", tenant, "partition", p, "err", err)
			select {
			case <-time.After(backoff):
			case <-c.stopping.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		for k := range set {
			if err := c.sched.Release(tenant, k, pending[k]); err != nil {
				return // shutting down; the next start reads Redis
			}
		}
	}
}

// watchDeadLetters applies the dead-letter bounds of every tenant at
// collector.store.dead_letter_check_interval: it measures the streams for
// the gauges (which warn from 80 % of a bound), drops what is beyond the
// bounds (counted), and releases the interactions a dropped letter held.
func (c *Collector) watchDeadLetters(ctx context.Context) {
	every := c.cfg.Collector.Store.DeadLetterCheckInterval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, p := range c.pipelines {
			select {
			case <-p.recovered:
			default:
				continue // its holds are not known yet
			}
			c.checkDeadLetters(ctx, p)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (c *Collector) checkDeadLetters(ctx context.Context, p *pipeline) {
	tenant := p.tenant
	now := time.Now()
	for part := range c.store.Partitions() {
		// What was dropped before an error is gone from Redis all the same:
		// it is counted and its interactions released before giving up.
		res, err := c.store.TrimDeadLetters(ctx, tenant, part, now)
		if res.ByAge+res.ByLength > 0 {
			c.inst.deadTrimmed.Add(ctx, int64(res.ByAge), metric.WithAttributes(attribute.String("tenant", tenant), attribute.String("bound", "age")))
			c.inst.deadTrimmed.Add(ctx, int64(res.ByLength), metric.WithAttributes(attribute.String("tenant", tenant), attribute.String("bound", "length")))
			c.logger.Error("ALERT: dead letters dropped for good at their bounds (collector.store.dead_letter_max_len / dead_letter_max_age)",
				"tenant", tenant, "partition", part, "by_age", res.ByAge, "by_length", res.ByLength,
				"released_interactions", len(res.Released))
		}
		if len(res.Released) > 0 {
			if err := p.do(ctx, func() { c.releaseHeld(tenant, res.Released) }); err != nil {
				return // stopping: the next start reads the holds from Redis
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("applying the dead-letter bounds failed; retried at the next check", "tenant", tenant, "err", err)
			}
			return
		}
	}
	fill, err := c.store.DeadLetterFill(ctx, tenant, now)
	if err != nil {
		if ctx.Err() == nil {
			c.logger.Warn("measuring the dead letters failed", "tenant", tenant, "err", err)
		}
		return
	}
	c.deadFill.Store(tenant, fill)
}
