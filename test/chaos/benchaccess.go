package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/doubles/sapidouble"
)

// This file opens a started Harness to load generators (test/bench): they
// run the same processes with the same configuration, publish their own
// lines and read the doubles' counters, without the fault plan of Run.

// Publish publishes lines, in order, as one batch through the SAPI
// double's control API.
func (h *Harness) Publish(ctx context.Context, lines [][]byte) error {
	return h.cluster.sapiCtl.publish(ctx, lines)
}

// PublishPaced hands lines over to the SAPI double, which writes line i
// to the stream no earlier than first + i × interval.
func (h *Harness) PublishPaced(ctx context.Context, first time.Time, interval time.Duration, lines [][]byte) error {
	return h.cluster.sapiCtl.publishPaced(ctx, first, interval, lines)
}

// SAPIStats reads the SAPI double's counters of the run's tenant.
func (h *Harness) SAPIStats(ctx context.Context) (sapidouble.TenantStats, error) {
	return h.cluster.sapiCtl.tenantStats(ctx)
}

// RegalStats reads the Regal double's counters.
func (h *Harness) RegalStats(ctx context.Context) (regaldouble.Stats, error) {
	return h.cluster.regalCtl.stats(ctx)
}

// SetRegalFaults changes the Regal double's standing conditions (its
// latency, for instance).
func (h *Harness) SetRegalFaults(ctx context.Context, u regaldouble.FaultsUpdate) error {
	return h.cluster.regalCtl.setFaults(ctx, u)
}

// RegalURL is the Regal double's base URL; its events endpoint is
// RegalURL()+"/events" and its control API is under /_double/.
func (h *Harness) RegalURL() string { return h.cluster.regalCtl.base }

// RegalAPIKey is the key the Regal double accepts in Authorization.
func (h *Harness) RegalAPIKey() string {
	const name = "REGAL_DOUBLE_API_KEY="
	for _, kv := range h.cluster.regal.env {
		if key, ok := strings.CutPrefix(kv, name); ok {
			return key
		}
	}
	return ""
}

// CollectorMetricsURL is the collector's Prometheus endpoint.
func (h *Harness) CollectorMetricsURL() string {
	return "http://" + h.cluster.collectorMetrics + "/metrics"
}

// DispatcherMetricsURLs are the dispatchers' Prometheus endpoints.
func (h *Harness) DispatcherMetricsURLs() []string {
	var urls []string
	for _, addr := range h.cluster.dispatcherMetrics {
		urls = append(urls, "http://"+addr+"/metrics")
	}
	slices.Sort(urls)
	return urls
}

// RedisAddrs are the addresses of the run's redis-servers: the one with
// the events, and the timeline's if it has its own.
func (h *Harness) RedisAddrs() []string {
	if h.cluster.timelineRedisAddr == "" {
		return []string{h.cluster.redisAddr}
	}
	return []string{h.cluster.redisAddr, h.cluster.timelineRedisAddr}
}

// Unsettled is the number of events the bridge holds in Redis and has not
// settled.
func (h *Harness) Unsettled(ctx context.Context) (int64, error) {
	return unsettledCount(ctx, h.cluster.rdb, h.cluster.tenant)
}

// ProcessIDs maps each running child's name (redis, redis-timeline, sapi-double,
// regal-double, collector, dispatcher-N) to its process id.
func (h *Harness) ProcessIDs() map[string]int {
	c := h.cluster
	out := map[string]int{}
	for _, p := range append([]*process{c.redis, c.timelineRedis, c.sapi, c.regal, c.collector}, c.dispatchers...) {
		if p == nil {
			continue
		}
		p.mu.Lock()
		if p.cmd != nil && p.cmd.Process != nil {
			out[p.name] = p.cmd.Process.Pid
		}
		p.mu.Unlock()
	}
	return out
}

// UnexpectedExits returns the exits of children the harness did not
// cause.
func (h *Harness) UnexpectedExits() []ProcessExit { return h.cluster.unexpectedExits() }

// RestartBridge stops the collector and the dispatchers, adds extraEnv
// ("NAME=value") to their environment and starts them again, then waits
// until the collector subscribed to the SAPI double. Call it before
// publishing anything.
func (h *Harness) RestartBridge(ctx context.Context, extraEnv ...string) error {
	c := h.cluster
	bridge := append([]*process{c.collector}, c.dispatchers...)
	for _, p := range bridge {
		p.stop(5 * time.Second)
	}
	for _, p := range bridge {
		p.env = append(p.env, extraEnv...)
		if err := p.start(); err != nil {
			return err
		}
	}
	return c.waitSubscribed(ctx)
}

// StopBridge stops the collector and the dispatchers gracefully (SIGTERM,
// then SIGKILL after grace), so that they write what they keep until exit,
// such as CPU profiles. Dispatchers stop first, while their collector
// still takes their last acknowledgements.
func (h *Harness) StopBridge(grace time.Duration) {
	c := h.cluster
	for _, p := range append(append([]*process{}, c.dispatchers...), c.collector) {
		p.stop(grace)
	}
}

// WaitDispatchersSubscribed waits until every dispatcher, since its latest
// start, has logged that it subscribed to the collector, so that a
// measurement does not count the time dispatchers take to connect.
func (h *Harness) WaitDispatchersSubscribed(ctx context.Context) error {
	for _, p := range h.cluster.dispatchers {
		for {
			ok, err := subscribedSinceStart(p.logPath)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s did not subscribe to the collector (see %s): %w", p.name, p.logPath, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// subscribedSinceStart reads a dispatcher's log: has it subscribed since
// the harness last started it?
func subscribedSinceStart(logPath string) (bool, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return false, err
	}
	if i := bytes.LastIndex(b, []byte("=== chaos: starting ")); i >= 0 {
		b = b[i:]
	}
	return bytes.Contains(b, []byte(`"msg":"subscribed to collector"`)), nil
}

// ScenarioEvents scripts calls with the chaos run's scenario (wave calls
// interleaved at a time), starting at start, and returns the SAPI lines in
// publishing order.
func ScenarioEvents(seed int64, tenant string, calls, wave int, start time.Time) ([][]byte, error) {
	truth, err := newGroundTruth(seed, tenant, calls, wave, start)
	if err != nil {
		return nil, err
	}
	return truth.events, nil
}

// RegalKeyOfLine says whether a SAPI line must reach Regal (a mapped
// Interaction event with a phone) and, if so, the key that identifies it
// at Regal: its interaction, Regal event name and originalTimestamp.
func RegalKeyOfLine(line []byte) (string, bool, error) {
	id, ok, err := expectedAtRegal(line)
	return id.String(), ok, err
}

// RegalKeyOfBody is the key of a request body Regal received, the same
// as RegalKeyOfLine's for the line it came from.
func RegalKeyOfBody(body []byte) (string, error) {
	var b regalBody
	if err := json.Unmarshal(body, &b); err != nil {
		return "", fmt.Errorf("regal body: %w", err)
	}
	return eventID{Interaction: b.Properties.InteractionID, Name: b.Name, Timestamp: b.OriginalTimestamp}.String(), nil
}
