package deadletter

import (
	"context"
	"fmt"
	"slices"

	"github.com/ccbridge/bridge/collector/eventstore"
)

// ReplayResult says what a replay matched and did.
type ReplayResult struct {
	// Matched are the dead letters the filter selected.
	Matched []eventstore.DeadEntry
	// Replayed is how many went back to delivery (0 in a dry run).
	Replayed int
}

// Replay sends the tenant's dead letters that match f to
// delivery again (one event, one interaction, or everything since a time),
// after Regal or a key is fixed. A dry run only says what would be sent.
//
// A letter that holds its interaction (policy hold) is delivered from its
// own place, before the interaction's later events, which then follow in
// order. Any other letter is delivered after the events already waiting,
// in the order the letters were dead-lettered: under policy skip, the
// interaction's later events may have reached Regal before it.
//
// Each letter is replayed in one atomic step in Redis. A replay that fails
// part-way returns an error; the letters it replayed are delivered, the
// others are still dead letters, and replaying again finishes the job.
func (k *Keeper) Replay(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) (ReplayResult, error) {
	if !slices.Contains(k.cfg.Tenants, tenant) {
		return ReplayResult{}, fmt.Errorf("unknown tenant %q", tenant)
	}
	// What a replay schedules must not overtake the events an earlier run
	// left unsettled.
	select {
	case <-k.adm.Recovered(tenant):
	case <-ctx.Done():
		return ReplayResult{}, ctx.Err()
	}
	var (
		res ReplayResult
		err error
	)
	// Listing, replaying and scheduling run in the tenant's admitter, so the
	// replayed entries reach the scheduler in stream order with admissions.
	runErr := k.adm.Do(ctx, tenant, func() {
		res.Matched, err = k.store.DeadLetters(ctx, tenant, f, 0)
		if err != nil || dryRun {
			return
		}
		// Not the caller's ctx from here: what Redis replayed must reach
		// the scheduler.
		var replayed []eventstore.Replayed
		replayed, err = k.store.Replay(context.WithoutCancel(ctx), res.Matched)
		res.Replayed = len(replayed)
		entries := make([]eventstore.Entry, 0, len(replayed))
		var moved []eventstore.Entry
		var unparked []string
		for _, r := range replayed {
			entries = append(entries, r.Entry)
			if r.Unparked {
				unparked = append(unparked, r.Letter.OrderKey)
			} else {
				moved = append(moved, r.Entry)
			}
		}
		if k.rec != nil {
			k.rec.Replayed(entries) // before scheduling: the replay precedes the new delivery
		}
		if len(unparked) > 0 {
			k.releaseHeld(tenant, unparked)
		}
		if len(moved) > 0 {
			if qerr := k.sched.Enqueue(context.Background(), moved); qerr != nil && err == nil {
				err = qerr
			}
		}
	})
	if runErr != nil {
		return res, runErr
	}
	if !dryRun && res.Replayed > 0 {
		k.logger.Info("dead letters replayed", "tenant", tenant, "matched", len(res.Matched), "replayed", res.Replayed, "err", err)
	}
	return res, err
}
