package intake

import (
	"context"
	"strconv"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
)

// The last time each tenant's stream delivered a frame is kept in Redis, so
// that a collector that was down (not only disconnected) longer than 8x8's
// replay cache raises the possible-gap alert when it starts again.

const lastFrameEvery = 10 * time.Second

func (in *Intake) lastFrameKey(tenant string) string {
	return in.cfg.KeyPrefix + ":{" + tenant + "}:sapi:last_frame"
}

// checkRestartGap compares the stored last-frame time with now.
func (in *Intake) checkRestartGap(ctx context.Context, tenant string) {
	v, err := in.rdb.Get(ctx, in.lastFrameKey(tenant)).Result()
	if err != nil {
		return // first start, or Redis trouble reported elsewhere
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return
	}
	if down := time.Since(time.UnixMilli(ms)); down > sapi.DefaultReplayHorizon {
		in.stats.restartGaps.Add(1)
		in.logger.Error("ALERT: possible silent gap: no SAPI event was read for longer than 8x8's replay cache "+
			"before this start; events of that time may be lost (reconcile with 8x8's historical reports)",
			"tenant", tenant, "down_for", down.Round(time.Second))
	}
}

// saveLastFrames stores each tenant's last-frame time every lastFrameEvery
// until ctx ends.
func (in *Intake) saveLastFrames(ctx context.Context) {
	t := time.NewTicker(lastFrameEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pipe := in.rdb.Pipeline()
		for i, cl := range in.currentClients() {
			if in.sched.Dropped(in.pipelines[i].tenant) {
				continue // another collector serves it, and keeps its time
			}
			if at := cl.Stats().LastFrameAt; !at.IsZero() {
				pipe.Set(ctx, in.lastFrameKey(in.pipelines[i].tenant), at.UnixMilli(), 7*24*time.Hour)
			}
		}
		if pipe.Len() > 0 {
			_, _ = pipe.Exec(ctx)
		}
	}
}
