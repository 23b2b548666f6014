package deadletter

import (
	"context"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
)

// RestoreHolds applies the dead-letter policy to the interactions an
// earlier run left held behind a dead letter. Intake runs it before the
// tenant's unsettled events are scheduled: under hold they stay held
// (recovery must not release them); under skip every hold ends, the parked
// events leave the delivery stream as plain dead letters, and their
// interactions go on.
func (k *Keeper) RestoreHolds(ctx context.Context, tenant string) error {
	hold := k.cfg.Policy == scheduler.PolicyHold
	var held []scheduler.HeldKey
	released := 0
	for p := range k.store.Partitions() {
		if !hold {
			keys, err := k.store.Unhold(ctx, tenant, p)
			if err != nil {
				return err
			}
			released += len(keys)
			continue
		}
		hs, err := k.store.HeldInteractions(ctx, tenant, p)
		if err != nil {
			return err
		}
		for _, h := range hs {
			held = append(held, scheduler.HeldKey{Tenant: tenant, Partition: h.Partition, OrderKey: h.OrderKey, From: h.From})
		}
	}
	k.sched.Hold(held)
	if len(held) > 0 {
		k.logger.Warn("interactions held behind a dead letter stay held until it is replayed",
			"tenant", tenant, "interactions", len(held))
	}
	if released > 0 {
		k.logger.Warn("dead_letter_policy is skip: interactions held behind a dead letter go on; the letters stay for replay",
			"tenant", tenant, "interactions", released)
	}
	return nil
}

// releaseHeld schedules the events of interactions whose hold Redis no
// longer records (their dead letter was replayed or dropped): each one's
// events are read again from its partition's stream, in order, the
// replayed event (if any) first. It must run in the tenant's admitter
// (Admitter.Do), so no admission interleaves. Redis errors are retried
// until Redis answers or the keeper shuts down; what is not scheduled by
// then is scheduled at the next start, from Redis.
func (k *Keeper) releaseHeld(tenant string, keys []string) {
	byPartition := map[int]map[string]bool{}
	from := map[int]string{}
	for _, key := range keys {
		h, ok := k.sched.IsHeld(tenant, key)
		if !ok {
			continue
		}
		if byPartition[h.Partition] == nil {
			byPartition[h.Partition] = map[string]bool{}
		}
		byPartition[h.Partition][key] = true
		if f, ok := from[h.Partition]; !ok || scheduler.LessStreamID(h.From, f) {
			from[h.Partition] = h.From
		}
	}
	for p, set := range byPartition {
		var pending map[string][]eventstore.Entry
		backoff := 100 * time.Millisecond
		for {
			ctx, cancel := context.WithTimeout(k.stopping, 10*time.Second)
			var err error
			pending, err = k.store.PendingOf(ctx, tenant, p, from[p], set)
			cancel()
			if err == nil {
				break
			}
			if k.stopping.Err() != nil {
				return
			}
			k.logger.Error("reading the events of released interactions failed; retrying", "tenant", tenant, "partition", p, "err", err)
			select {
			case <-time.After(backoff):
			case <-k.stopping.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		for key := range set {
			if err := k.sched.Release(tenant, key, pending[key]); err != nil {
				return // shutting down; the next start reads Redis
			}
		}
	}
}
