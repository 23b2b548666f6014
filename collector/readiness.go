package collector

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// The collector's probes. Readiness (/readyz, and the gRPC health of ""
// and of the DeliveryService) says whether dispatchers may be sent to it:
// it is started and Redis answers, plus any check added to readyChecks.
// Liveness (/healthz) says only that its own loop turns, so that Redis
// trouble never restarts it (a restart cures nothing there, and replays
// the SAPI backlog).

const (
	// probeEvery is how often the probe loop pings Redis and updates the
	// gRPC health.
	probeEvery = time.Second
	// redisPingTimeout bounds one ping.
	redisPingTimeout = time.Second
	// redisReadyWindow: Redis counts as reachable while its last successful
	// ping is this recent (a few pings may fail in a row before the
	// collector reports not ready).
	redisReadyWindow = 5 * time.Second
	// loopStallAfter: the collector is not live when its probe loop has not
	// turned for this long while running.
	loopStallAfter = 30 * time.Second
)

// Lifecycle states of a collector.
const (
	stateNew int32 = iota
	stateStarting
	stateRunning
	stateStopping
)

// probes holds what the checks read; the probe loop keeps it current.
type probes struct {
	state    atomic.Int32
	lastPing atomic.Int64 // unix nanoseconds of the last successful Redis ping
	pingErr  atomic.Pointer[string]
	lastTurn atomic.Int64 // unix nanoseconds of the probe loop's last turn
}

// Readiness returns the collector's readiness checks, for /readyz. They
// hold once Start has returned, while Redis answers, and while every check
// of readyChecks holds.
func (c *Collector) Readiness() []telemetry.Check {
	checks := []telemetry.Check{
		{Name: "started", Check: c.checkStarted},
		{Name: "redis", Check: c.checkRedis},
	}
	return append(checks, c.readyChecks...)
}

// Liveness returns the collector's liveness checks, for /healthz: its
// probe loop turns. They do not depend on Redis.
func (c *Collector) Liveness() []telemetry.Check {
	return []telemetry.Check{{Name: "loop", Check: c.checkLoop}}
}

func (c *Collector) checkStarted() error {
	switch c.probes.state.Load() {
	case stateRunning:
		return nil
	case stateStopping:
		return errors.New("shutting down")
	default:
		return errors.New("starting")
	}
}

func (c *Collector) checkRedis() error {
	last := c.probes.lastPing.Load()
	if last != 0 && time.Since(time.Unix(0, last)) <= redisReadyWindow {
		return nil
	}
	why := "no ping yet"
	if last != 0 {
		why = fmt.Sprintf("no successful ping for %s", time.Since(time.Unix(0, last)).Round(time.Second))
	}
	if e := c.probes.pingErr.Load(); e != nil {
		why += " (last error: " + *e + ")"
	}
	return errors.New(why)
}

func (c *Collector) checkLoop() error {
	if c.probes.state.Load() != stateRunning {
		return nil // starting may wait a minute for Redis; stopping is bounded by Shutdown
	}
	if since := time.Since(time.Unix(0, c.probes.lastTurn.Load())); since > loopStallAfter {
		return fmt.Errorf("the probe loop has not turned for %s", since.Round(time.Second))
	}
	return nil
}

// ready reports whether every readiness check holds.
func (c *Collector) ready() bool {
	for _, ch := range c.Readiness() {
		if ch.Check() != nil {
			return false
		}
	}
	return true
}

// pingRedis records the outcome of one bounded ping.
func (c *Collector) pingRedis(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := c.store.Ping(ctx); err != nil {
		msg := err.Error()
		c.probes.pingErr.Store(&msg)
		return
	}
	c.probes.pingErr.Store(nil)
	c.probes.lastPing.Store(time.Now().UnixNano())
}

// setHealth makes the gRPC health of "" and of the DeliveryService follow
// readiness.
func (c *Collector) setHealth() {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if c.ready() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	c.health.SetServingStatus("", st)
	c.health.SetServingStatus(deliveryv1.DeliveryService_ServiceDesc.ServiceName, st)
}

// probeLoop pings Redis and updates the gRPC health every probeEvery
// until ctx ends.
func (c *Collector) probeLoop(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		c.probes.lastTurn.Store(time.Now().UnixNano())
		c.pingRedis(ctx)
		c.setHealth()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
