package deadletter

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// watch applies the dead-letter bounds of every tenant every
// CheckInterval (collector.store.dead_letter_check_interval): it measures
// the streams for the gauges (which warn from 80 % of a bound), drops what
// is beyond the bounds (counted), and releases the interactions a dropped
// letter held.
func (k *Keeper) watch(ctx context.Context) {
	t := time.NewTicker(k.cfg.CheckInterval)
	defer t.Stop()
	for {
		for _, tenant := range k.cfg.Tenants {
			select {
			case <-k.adm.Recovered(tenant):
			default:
				continue // its holds are not known yet
			}
			if k.sched.Dropped(tenant) {
				continue // another collector serves it now
			}
			k.check(ctx, tenant)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (k *Keeper) check(ctx context.Context, tenant string) {
	now := time.Now()
	for part := range k.store.Partitions() {
		// What was dropped before an error is gone from Redis all the same:
		// it is counted and its interactions released before giving up.
		res, err := k.store.TrimDeadLetters(ctx, tenant, part, now)
		if res.ByAge+res.ByLength > 0 {
			k.deadTrimmed.Add(ctx, int64(res.ByAge), metric.WithAttributes(attribute.String("tenant", tenant), attribute.String("bound", "age")))
			k.deadTrimmed.Add(ctx, int64(res.ByLength), metric.WithAttributes(attribute.String("tenant", tenant), attribute.String("bound", "length")))
			k.logger.Error("ALERT: dead letters dropped for good at their bounds (collector.store.dead_letter_max_len / dead_letter_max_age)",
				"tenant", tenant, "partition", part, "by_age", res.ByAge, "by_length", res.ByLength,
				"released_interactions", len(res.Released))
		}
		if len(res.Released) > 0 {
			if err := k.adm.Do(ctx, tenant, func() { k.releaseHeld(tenant, res.Released) }); err != nil {
				return // stopping: the next start reads the holds from Redis
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				k.logger.Warn("applying the dead-letter bounds failed; retried at the next check", "tenant", tenant, "err", err)
			}
			return
		}
	}
	fill, err := k.store.DeadLetterFill(ctx, tenant, now)
	if err != nil {
		if ctx.Err() == nil {
			k.logger.Warn("measuring the dead letters failed", "tenant", tenant, "err", err)
		}
		return
	}
	k.deadFill.Store(tenant, fill)
}
