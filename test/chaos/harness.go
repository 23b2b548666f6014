package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// scenarioStart is when the scripted calls begin (the day of Regal's 8x8
// integration examples); fixed, so a seed gives the same events.
var scenarioStart = time.Unix(1724685483, 0)

// progressEvery paces the progress log.
const progressEvery = 10 * time.Second

// Harness is one run: its directory and processes. Start it, Run it, and
// Close it (also when Start or Run fail) so no process outlives it.
type Harness struct {
	o       Options
	cluster *cluster
	close   sync.Once
}

// Start prepares a run: it makes the run directory, builds the binaries
// (unless Options.BinDir has them), and starts Redis, both doubles, the
// collector and the dispatchers. On error it has already stopped what it
// started.
func Start(ctx context.Context, o Options) (*Harness, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := runDir(o.Dir)
	if err != nil {
		return nil, err
	}
	o.Dir = dir
	bins := binariesIn(o.BinDir)
	if o.BinDir == "" {
		o.Logger.Info("building the binaries")
		if bins, err = Build(ctx, filepath.Join(o.Dir, "bin")); err != nil {
			return nil, err
		}
	}
	h := &Harness{o: o, cluster: &cluster{dir: o.Dir, tenant: o.Tenant, log: o.Logger, doubleDied: make(chan string, 1)}}
	o.Logger.Info("starting the processes", "dir", o.Dir, "dispatchers", o.Dispatchers)
	if err := startCluster(ctx, h.cluster, bins, o); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// runDir makes the run directory: dir, which must be new or empty (a
// previous run's Redis data or addresses would mix with this one's), or a
// new temporary directory when dir is empty.
func runDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "ccbridge-chaos-*")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("run directory %s is not empty", dir)
	}
	return dir, nil
}

// Dir is the run directory: the processes' logs, Redis's data and the
// bridge's configuration.
func (h *Harness) Dir() string { return h.o.Dir }

// Close stops every process of the run. It is idempotent.
func (h *Harness) Close() { h.close.Do(h.cluster.close) }

// Run publishes the scenario while injecting the planned faults, waits
// until the bridge holds nothing unsettled and compares what Regal
// received with the ground truth. An error means the run could not be
// carried out; a guarantee broken is a Report that Failed.
func (h *Harness) Run(ctx context.Context) (*Report, error) {
	o, c := h.o, h.cluster
	started := time.Now()
	truth, err := newGroundTruth(o.Seed, o.Tenant, o.Calls, o.Wave, scenarioStart)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0xc4a05))
	lines, repeats := withRepeats(truth.events, o.RepeatRate, r)
	plan := planFaults(o, r)
	o.Logger.Info("publishing", "events", len(truth.events), "lines", len(lines), "expected_at_regal", truth.total(),
		"over", o.PublishFor, "faults", len(plan))

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case name := <-c.doubleDied:
			cancel(fmt.Errorf("the %s exited (see %s)", name, c.logPath(name)))
		case <-ctx.Done():
		}
	}()
	pub := &publisher{sapi: c.sapiCtl, lines: lines, chunk: o.ChunkLines, duration: o.PublishFor}
	publishStart := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := pub.run(ctx); err != nil {
			cancel(fmt.Errorf("publishing: %w", err))
		}
	})
	stopProgress := h.logProgress(ctx, pub, len(lines))
	faults := (&injector{c: c, publisher: pub, burstRate: o.BurstRateLimit}).run(ctx, plan, publishStart)
	wg.Wait()
	stopProgress()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}

	o.Logger.Info("published everything; waiting for the bridge to settle", "timeout", o.SettleTimeout)
	settled := c.waitSettled(ctx, o.SettleTimeout)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return h.report(ctx, truth, len(lines), repeats, faults, settled, started)
}

// report collects what Regal received and what Redis dead-lettered and
// compares it with the ground truth.
func (h *Harness) report(ctx context.Context, truth *groundTruth, lines, repeats int, faults []FaultRecord, settled bool, started time.Time) (*Report, error) {
	o, c := h.o, h.cluster
	received, err := c.regalCtl.received(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading what Regal received: %w", err)
	}
	dead, err := deadLetters(ctx, c.rdb, o.Tenant)
	if err != nil {
		return nil, fmt.Errorf("reading the dead letters: %w", err)
	}
	regalStats, err := c.regalCtl.stats(ctx)
	if err != nil {
		return nil, err
	}
	sapiStats, err := c.sapiCtl.tenantStats(ctx)
	if err != nil {
		return nil, err
	}
	var kills []FaultRecord
	for _, f := range faults {
		if f.Error == "" && (f.Kind == FaultCollectorKill || f.Kind == FaultDispatcherKill) {
			kills = append(kills, f)
		}
	}
	arrivals, unreadable := arrivalsOf(received)
	if err := writeArrivals(c.path("regal-arrivals.tsv"), arrivals); err != nil {
		o.Logger.Warn("could not save Regal's arrivals", "err", err)
	}
	return &Report{
		Seed: o.Seed, Dir: o.Dir, Started: started, Duration: Duration(time.Since(started).Round(time.Second)),
		Calls: truth.calls, Interactions: len(truth.order), SAPIEvents: len(truth.events),
		PublishedLines: lines, RepeatedLines: repeats,
		Settled:         settled,
		Outcome:         compare(truth, arrivals, unreadable, dead, kills, o.DuplicateWindow),
		Faults:          faults,
		FaultCounts:     countFaults(faults),
		UnexpectedExits: c.unexpectedExits(),
		Delivery:        o.Delivery,
		Regal:           regalStats,
		SAPI:            sapiStats,
	}, nil
}

// logProgress logs how far the run is every progressEvery until the
// returned function is called.
func (h *Harness) logProgress(ctx context.Context, pub *publisher, lines int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s, err := h.cluster.observe(ctx)
			if err != nil {
				h.o.Logger.Warn("progress unknown", "err", err)
				continue
			}
			h.o.Logger.Info("progress", "published_lines", pub.progress(), "of", lines,
				"unsettled", s.unsettled, "sapi_buffered", s.sapiBuffered, "regal_accepted", s.regalAccepted)
		}
	}()
	return func() { cancel(); <-done }
}
