package chaos

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options shape a run. FullOptions and ShortOptions give complete sets.
type Options struct {
	// Seed drives the scenario, the repeated lines and the fault plan.
	Seed int64
	// Tenant is the 8x8 tenant name.
	Tenant string
	// Calls is the number of scripted calls; Wave is how many of them are
	// interleaved together (calls in progress at once).
	Calls, Wave int
	// Dispatchers is the number of dispatcher processes.
	Dispatchers int
	// PublishFor is how long publishing every event takes; ChunkLines is
	// the number of lines per publish request.
	PublishFor time.Duration
	ChunkLines int
	// RepeatRate is the probability that an event's line is followed by a
	// repeat of a recent line (a duplicate the bridge must absorb).
	RepeatRate float64
	// ReplayLast is the SAPI double's -replay-last: the events re-sent to
	// a reconnecting collector. It must cover what a killed collector had
	// read (socket buffers included) but not stored.
	ReplayLast int

	// The faults injected while publishing, spread over the publishing
	// time in a seeded order.
	CollectorKills  int
	DispatcherKills int
	RedisRestarts   int
	RateLimitBursts int
	SAPICuts        int
	SAPIFailovers   int
	// RegalOutage is the length of the one Regal outage; 0 for none.
	RegalOutage time.Duration
	// RegalErrorRate is the share of Regal requests answered 5xx
	// throughout the run.
	RegalErrorRate float64
	// BurstRateLimit is Regal's rate limit (requests per second) during a
	// 429 burst.
	BurstRateLimit float64

	// Delivery tunes the bridge's retries.
	Delivery Delivery

	// SettleTimeout bounds the wait, after the last fault, until the
	// bridge holds nothing unsettled.
	SettleTimeout time.Duration
	// DuplicateWindow is how long before a kill a duplicate's first copy
	// may have reached Regal for the kill to explain it.
	DuplicateWindow time.Duration

	// RedisFsync is Redis's appendfsync: "always" (the deployment's
	// setting: an acknowledged write survives a crash of the host too) or
	// "everysec"; empty is "always".
	RedisFsync string
	// TimelineRedis keeps the collector's timeline in a Redis of its own
	// (appendfsync everysec), as deploy/redis-timeline.conf recommends;
	// false keeps it in the one Redis, whose restarts then hit it too.
	TimelineRedis bool
	// DoubleEnv is added to both doubles' environment ("NAME=value"),
	// e.g. GOMAXPROCS when the bench shares a few cores among them all.
	DoubleEnv []string

	// Dir is the run directory (logs, Redis data, configuration); it must
	// be new or empty. Empty makes a new temporary one, kept after the
	// run.
	Dir string
	// BinDir holds prebuilt binaries; empty builds them into Dir/bin.
	BinDir string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// defaultDelivery rides out a one-minute Regal outage: a dispatcher tries
// a delivery 10 times (backoff up to 2 s, full jitter), gives it back as
// retryable, and the collector delivers it again 100 ms to 2 s later, for
// up to 1,000 attempts or 30 minutes per event, about 70 attempts in a
// minute of outage. The dispatchers keep Regal's documented 300 requests
// per second between them, and delivery streams rotate every 45 s.
func defaultDelivery() Delivery {
	return Delivery{
		SchedulerRetryDelayMin: 100 * time.Millisecond,
		SchedulerRetryDelayMax: 2 * time.Second,
		SchedulerMaxAttempts:   1000,
		SchedulerMaxRetryAge:   30 * time.Minute,
		RegalMaxAttempts:       10,
		RegalBackoffInitial:    50 * time.Millisecond,
		RegalBackoffMax:        2 * time.Second,
		RegalTimeout:           5 * time.Second,
		RegalRateLimit:         285,
		RegalRateBurst:         10,
		MaxInFlight:            128,
		Prefetch:               32,
		StreamMaxAge:           45 * time.Second,
	}
}

// FullOptions is the full run: about 15,000 calls (over 100,000 SAPI
// events, over 13,000 interactions) with every fault the bridge claims to
// survive.
func FullOptions() Options {
	return Options{
		Seed: 1, Tenant: "acmecorp01",
		Calls: 15000, Wave: 400, Dispatchers: 4,
		PublishFor: 6 * time.Minute, ChunkLines: 200, RepeatRate: 0.05, ReplayLast: 20000,
		CollectorKills: 6, DispatcherKills: 12, RedisRestarts: 1, RateLimitBursts: 3, SAPICuts: 4, SAPIFailovers: 1,
		RegalOutage: 60 * time.Second, RegalErrorRate: 0.10, BurstRateLimit: 20,
		Delivery:      defaultDelivery(),
		SettleTimeout: 10 * time.Minute, DuplicateWindow: 2 * time.Second,
	}
}

// ShortOptions is the run under go test: a few thousand events, every
// kind of fault, well under two minutes.
func ShortOptions() Options {
	o := FullOptions()
	o.Calls, o.Wave, o.Dispatchers = 500, 100, 3
	o.PublishFor, o.ChunkLines = 40*time.Second, 100
	o.CollectorKills, o.DispatcherKills, o.RedisRestarts = 2, 3, 1
	o.RateLimitBursts, o.SAPICuts, o.SAPIFailovers = 1, 1, 1
	o.RegalOutage = 8 * time.Second
	o.SettleTimeout = 90 * time.Second
	return o
}

// validate reports options a run cannot use.
func (o Options) validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(o.Tenant != "", "a tenant is required")
	check(o.Calls > 0 && o.Wave > 0, "calls and wave must be positive")
	check(o.Dispatchers > 0, "at least one dispatcher is required")
	check(o.PublishFor > 0 && o.ChunkLines > 0, "publish time and chunk size must be positive")
	check(o.RepeatRate >= 0 && o.RepeatRate < 1, "the repeat rate must be in [0, 1)")
	check(o.RegalErrorRate >= 0 && o.RegalErrorRate < 1, "the Regal error rate must be in [0, 1)")
	check(o.RateLimitBursts == 0 || o.BurstRateLimit > 0, "a 429 burst needs a positive rate limit")
	check(min(o.CollectorKills, o.DispatcherKills, o.RedisRestarts, o.RateLimitBursts, o.SAPICuts, o.SAPIFailovers) >= 0,
		"fault counts cannot be negative")
	check(o.ReplayLast >= 0 && o.RegalOutage >= 0, "replay and outage cannot be negative")
	check(o.SettleTimeout > 0 && o.DuplicateWindow > 0, "settle timeout and duplicate window must be positive")
	check(o.RedisFsync == "" || o.RedisFsync == "always" || o.RedisFsync == "everysec", "redis fsync must be always or everysec, got %q", o.RedisFsync)
	return errors.Join(errs...)
}
