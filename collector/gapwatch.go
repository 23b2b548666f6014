package collector

import (
	"context"
	"strconv"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ccbridge/bridge/collector/sapi"
)

// The last time each tenant's stream delivered a frame is kept in Redis, so
// that a collector that was down (not only disconnected) longer than 8x8's
// replay cache raises the possible-gap alert when it starts again.

const lastFrameEvery = 10 * time.Second

func (c *Collector) lastFrameKey(tenant string) string {
	return c.cfg.Collector.Store.KeyPrefix + ":{" + tenant + "}:sapi:last_frame"
}

// checkRestartGap compares the stored last-frame time with now.
func (c *Collector) checkRestartGap(ctx context.Context, tenant string) {
	v, err := c.rdb.Get(ctx, c.lastFrameKey(tenant)).Result()
	if err != nil {
		return // first start, or Redis trouble reported elsewhere
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return
	}
	if down := time.Since(time.UnixMilli(ms)); down > sapi.DefaultReplayHorizon {
		c.stats.restartGaps.Add(1)
		c.logger.Error("ALERT: possible silent gap: no SAPI event was read for longer than 8x8's replay cache "+
			"before this start; events of that time may be lost (reconcile with 8x8's historical reports)",
			"tenant", tenant, "down_for", down.Round(time.Second))
	}
}

// watchStreams, until ctx ends, keeps the gRPC health of each tenant's
// stream ("sapi/<tenant>": SERVING while streaming) current every second,
// and stores each tenant's last-frame time every lastFrameEvery.
func (c *Collector) watchStreams(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i, cl := range c.clients {
			status := healthpb.HealthCheckResponse_NOT_SERVING
			if cl.Stats().State == sapi.StateStreaming {
				status = healthpb.HealthCheckResponse_SERVING
			}
			c.health.SetServingStatus("sapi/"+c.pipelines[i].tenant, status)
		}
		if tick%int(lastFrameEvery/time.Second) != 0 {
			continue
		}
		pipe := c.rdb.Pipeline()
		for i, cl := range c.clients {
			if at := cl.Stats().LastFrameAt; !at.IsZero() {
				pipe.Set(ctx, c.lastFrameKey(c.pipelines[i].tenant), at.UnixMilli(), 7*24*time.Hour)
			}
		}
		if pipe.Len() > 0 {
			_, _ = pipe.Exec(ctx)
		}
	}
}
