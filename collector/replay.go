package collector

import (
	"context"
	"fmt"

	"github.com/ccbridge/bridge/collector/eventstore"
)

// ReplayResult says what a replay matched and did.
type ReplayResult struct {
	// Matched are the dead letters the filter selected.
	Matched []eventstore.DeadEntry
	// Replayed is how many went back to delivery (0 in a dry run).
	Replayed int
}

// ReplayDeadLetters sends the tenant's dead letters that match f to
// delivery again (one event, one interaction, or everything since a time),
// after Regal or a key is fixed. A dry run only says what would be sent.
// Replayed events are delivered after the events already waiting, in the
// order they were dead-lettered.
func (c *Collector) ReplayDeadLetters(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) (ReplayResult, error) {
	p := c.pipelineOf(tenant)
	if p == nil {
		return ReplayResult{}, fmt.Errorf("unknown tenant %q", tenant)
	}
	var (
		res ReplayResult
		err error
	)
	// Listing, reviving and enqueueing run in the tenant's admitter, so the
	// revived entries reach the scheduler in stream order with admissions.
	runErr := p.do(ctx, func() {
		res.Matched, err = c.store.DeadLetters(ctx, tenant, f, 0)
		if err != nil || dryRun {
			return
		}
		var entries []eventstore.Entry
		entries, err = c.store.Revive(ctx, res.Matched)
		res.Replayed = len(entries)
		c.recorder.Replayed(entries) // before Enqueue: the replay precedes the new delivery
		if err == nil {
			// Not the caller's ctx: revived entries must reach the scheduler.
			err = c.sched.Enqueue(context.Background(), entries)
		}
	})
	if runErr != nil {
		return res, runErr
	}
	if err == nil && !dryRun {
		c.logger.Info("dead letters replayed", "tenant", tenant, "matched", len(res.Matched), "replayed", res.Replayed)
	}
	return res, err
}

func (c *Collector) pipelineOf(tenant string) *pipeline {
	for _, p := range c.pipelines {
		if p.tenant == tenant {
			return p
		}
	}
	return nil
}

// replayForQuery is ReplayDeadLetters as the query service calls it.
func (c *Collector) replayForQuery(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) ([]eventstore.DeadEntry, int, error) {
	res, err := c.ReplayDeadLetters(ctx, tenant, f, dryRun)
	return res.Matched, res.Replayed, err
}
