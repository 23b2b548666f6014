package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/process"
	"github.com/ccbridge/bridge/test/chaos"
)

// maxCeilingBodies bounds the bodies the ceiling keeps from the pipeline's
// requests.
const maxCeilingBodies = 10000

// completePoll is how often the completion wait reads Regal's counters.
const completePoll = 20 * time.Millisecond

// Run starts the processes, publishes o.Events lines, waits until Regal
// accepted every event it must receive, measures the ceiling and stops
// every process. An error means the run could not be carried out.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	co := harnessOptions(o)
	if o.CeilingConcurrency == 0 {
		o.CeilingConcurrency = o.Dispatchers * co.Delivery.MaxInFlight
	}
	h, err := chaos.Start(ctx, co)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	env := append(gomaxprocsEnv(o.GOMAXPROCS), o.BridgeEnv...)
	if !o.Tracing {
		env = append(env, "OTEL_TRACES_SAMPLER=always_off")
	}
	if o.CPUProfileDir != "" {
		dir, err := filepath.Abs(o.CPUProfileDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		env = append(env, process.CPUProfileDirEnv+"="+dir)
	}
	if len(env) > 0 {
		if err := h.RestartBridge(ctx, env...); err != nil {
			return nil, fmt.Errorf("restarting the bridge with %v: %w", env, err)
		}
	}
	// Dispatchers connect with a backoff; the load starts once all have.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = h.WaitDispatchersSubscribed(wctx)
	cancel()
	if err != nil {
		return nil, err
	}
	if o.RegalLatency > 0 {
		latency := regaldouble.Duration(o.RegalLatency)
		if err := h.SetRegalFaults(ctx, regaldouble.FaultsUpdate{Latency: &latency}); err != nil {
			return nil, err
		}
	}
	return measure(ctx, h, o)
}

// gomaxprocsEnv is the environment that sets GOMAXPROCS to n; none for 0.
func gomaxprocsEnv(n int) []string {
	if n <= 0 {
		return nil
	}
	return []string{"GOMAXPROCS=" + strconv.Itoa(n)}
}

// harnessOptions is the chaos harness without faults, without the
// client-side rate limit, with o's dispatchers.
func harnessOptions(o Options) chaos.Options {
	co := chaos.ShortOptions()
	co.Tenant, co.Seed, co.Dispatchers = tenant, o.Seed, o.Dispatchers
	co.CollectorKills, co.DispatcherKills, co.RedisRestarts = 0, 0, 0
	co.RateLimitBursts, co.SAPICuts, co.SAPIFailovers = 0, 0, 0
	co.RegalOutage, co.RegalErrorRate, co.RepeatRate = 0, 0, 0
	co.Delivery.RegalRateLimit = 0
	co.Delivery.StreamMaxAge = 10 * time.Minute
	co.Delivery.MaxInFlight = o.MaxInFlight
	co.Delivery.Prefetch = o.Prefetch
	co.Delivery.Pprof = o.Pprof
	co.RedisFsync = o.RedisFsync
	co.TimelineRedis = o.TimelineRedis
	co.DoubleEnv = gomaxprocsEnv(o.GOMAXPROCS)
	co.Dir, co.BinDir, co.Logger = o.Dir, o.BinDir, o.Logger
	return co
}

// measure runs the load and the ceiling on a started harness.
func measure(ctx context.Context, h *chaos.Harness, o Options) (*Report, error) {
	pids := h.ProcessIDs()
	started, loadBefore := time.Now(), loadAverage()
	cmdsBefore, err := redisCommands(ctx, h.RedisAddrs()...)
	if err != nil {
		return nil, err
	}
	cpuBefore, err := markCPU(pids)
	if err != nil {
		return nil, err
	}
	pub := newPublisher(h, newScript(o.Seed, o.Events), o.Rate)
	samples := &rssSamples{}
	stopProgress := startProgress(ctx, o, h, pub, started, samples)
	defer stopProgress()
	stopStall := stallProcess(ctx, pids["collector"], started, o.StallCollectorAt, o.StallCollectorFor)
	defer stopStall()

	o.Logger.Info("publishing", "lines", o.Events, "rate", o.Rate)
	if err := pub.run(ctx); err != nil {
		return nil, err
	}
	o.Logger.Info("published; waiting for Regal", "expected", pub.expected.Load())
	if err := waitAccepted(ctx, h, int(pub.expected.Load()), o.CompleteTimeout); err != nil {
		return nil, err
	}
	stalled := stopStall() // a stall due after the run is not made
	cpuAfter, err := markCPU(pids)
	if err != nil {
		return nil, err
	}
	host := Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadBefore, LoadAfter: loadAverage()}
	cmdsAfter, err := redisCommands(ctx, h.RedisAddrs()...)
	if err != nil {
		return nil, err
	}
	// Peak RSS now, before listing Regal's requests inflates the double.
	usage, err := usage(pids, cpuBefore, cpuAfter, int(pub.expected.Load()))
	if err != nil {
		return nil, err
	}
	stopProgress()
	timeline, err := readTimeline(ctx, h.CollectorMetricsURL())
	if err != nil {
		return nil, err
	}
	stages, err := readStages(ctx, h.CollectorMetricsURL(), h.DispatcherMetricsURLs())
	if err != nil {
		return nil, err
	}
	if o.CPUProfileDir != "" {
		// Graceful stops write the profiles; the ceiling needs no bridge.
		h.StopBridge(10 * time.Second)
	}

	arrivals, err := matchArrivals(ctx, h, pub, o.RegalLatency)
	if err != nil {
		return nil, err
	}
	if len(arrivals.bodies) == 0 {
		return nil, errors.New("nothing reached Regal: no body for the ceiling (publish more events)")
	}
	o.Logger.Info("running the ceiling", "for", o.CeilingFor, "concurrency", o.CeilingConcurrency)
	ceiling := runCeiling(ctx, h.RegalURL(), h.RegalAPIKey(), arrivals.bodies, o.CeilingConcurrency, o.CeilingFor)
	if ceiling.Accepted == 0 {
		return nil, errors.New("the ceiling's requests were all refused")
	}
	if !stalled {
		o.StallCollectorAt, o.StallCollectorFor = 0, 0
	}
	r := assemble(o, h, started, host, arrivals, usage, cmdsAfter-cmdsBefore, ceiling)
	r.RSSTrend = samples.trends()
	r.Timeline = timeline
	r.Stages = stages
	return r, nil
}

// startProgress prints progress lines when o asks for them; the returned
// function stops them and may be called more than once.
func startProgress(ctx context.Context, o Options, h *chaos.Harness, pub *publisher, start time.Time, samples *rssSamples) (stop func()) {
	if o.ProgressEvery <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { reportProgress(ctx, o.Progress, o.ProgressEvery, h, pub, start, samples) })
	return func() { cancel(); wg.Wait() }
}

// waitAccepted waits until Regal accepted at least want requests.
func waitAccepted(ctx context.Context, h *chaos.Harness, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := 0
	for {
		st, err := h.RegalStats(ctx)
		if err == nil && st.Accepted >= want {
			return nil
		}
		if err == nil {
			last = st.Accepted
		}
		if err := sleepUntil(ctx, time.Now().Add(completePoll)); err != nil {
			return fmt.Errorf("%d of %d events accepted by Regal (see %s): %w", last, want, h.Dir(), err)
		}
	}
}

// assemble puts the measurements together.
func assemble(o Options, h *chaos.Harness, started time.Time, host Host, a *arrivals, usage []ProcessUsage, commands int64, c Ceiling) *Report {
	r := &Report{
		Started: started, Dir: h.Dir(),
		Setup: Setup{
			Events: o.Events, Rate: o.Rate, Dispatchers: o.Dispatchers, MaxInFlight: o.MaxInFlight, Prefetch: o.Prefetch,
			RegalLatencyMS: milliseconds(o.RegalLatency), RedisFsync: o.RedisFsync, TimelineRedis: o.TimelineRedis, Tracing: o.Tracing, Seed: o.Seed,
			BridgeEnv: o.BridgeEnv, GOMAXPROCS: o.GOMAXPROCS,
			StallCollectorAtS: o.StallCollectorAt.Seconds(), StallCollectorForS: o.StallCollectorFor.Seconds(),
		},
		Host:    host,
		Flow:    a.flow,
		Latency: summarize(a.latencies),
		Usage:   usage,
		Redis:   RedisUse{Commands: commands},
		Ceiling: c,
	}
	if n := r.Flow.RegalDelivered; n > 0 {
		r.Redis.PerRegalEvent = float64(commands) / float64(n)
	}
	if n := r.Flow.SAPILines; n > 0 {
		r.Redis.PerSAPILine = float64(commands) / float64(n)
	}
	if c.AcceptedPerSec > 0 {
		r.Ratio = r.Flow.RegalEventsPerSec / c.AcceptedPerSec
	}
	for _, e := range h.UnexpectedExits() {
		r.UnexpectedExits = append(r.UnexpectedExits, fmt.Sprintf("%s at %s: %s", e.Process, e.Time.Format(time.RFC3339), e.Status))
	}
	return r
}
