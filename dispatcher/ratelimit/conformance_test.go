package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
	"github.com/ccbridge/bridge/internal/redistest"
)

// limiterFactory builds instances limiters sharing one limit of rate per
// second (the ceiling) and burst, as that many dispatcher processes would,
// with opts (WithAdaptation).
type limiterFactory func(t *testing.T, rate float64, burst, instances int, opts ...ratelimit.Option) []ratelimit.Adaptive

func TestLocal_conformance(t *testing.T) {
	t.Parallel()
	testConformance(t, func(_ *testing.T, rate float64, burst, instances int, opts ...ratelimit.Option) []ratelimit.Adaptive {
		shared := ratelimit.NewLocal(rate, burst, opts...)
		return slices.Repeat([]ratelimit.Adaptive{shared}, instances)
	})
}

func TestRedis_conformance(t *testing.T) {
	t.Parallel()
	for _, backend := range redistest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			if !backend.Cluster {
				// The cluster's six servers run alone, before the
				// others: their load together upsets the timing cases.
				t.Parallel()
			}
			testConformance(t, func(t *testing.T, rate float64, burst, instances int, opts ...ratelimit.Option) []ratelimit.Adaptive {
				srv := backend.Start(t, redistest.Options{})
				limiters := make([]ratelimit.Adaptive, instances)
				for i := range limiters {
					rdb := srv.Client(t)
					// Connected before the case measures: a new client's
					// first call dials (and, on a cluster, loads the slot
					// map), which the timing cases would read as pacing.
					if err := rdb.Ping(context.Background()).Err(); err != nil {
						t.Fatal(err)
					}
					if cc, ok := rdb.(*redis.ClusterClient); ok {
						if err := cc.ForEachShard(context.Background(), func(ctx context.Context, c *redis.Client) error {
							return c.Ping(ctx).Err()
						}); err != nil {
							t.Fatal(err)
						}
					}
					// The cluster is shared by the parallel cases: each
					// keeps to a limit of its own.
					limiters[i] = ratelimit.NewRedis(rdb, ratelimit.Key("test-"+t.Name(), "acme"), rate, burst,
						append([]ratelimit.Option{ratelimit.WithProcesses(instances), ratelimit.WithLogger(quiet)}, opts...)...)
				}
				return limiters
			})
		})
	}
}

// testConformance runs the Limiter contract, then the Adaptive one,
// against newLimiters. The cases of each group run in parallel, each on
// its own limit; the groups run one after the other, so that the adaptive
// cases' load does not disturb the timing of the others.
func testConformance(t *testing.T, newLimiters limiterFactory) {
	type testCase struct {
		name string
		run  func(*testing.T, limiterFactory)
	}
	groups := []struct {
		name  string
		cases []testCase
	}{
		{name: "limit", cases: []testCase{
			{name: "never_exceeds_rate_times_duration_plus_burst", run: testNeverExceedsRate},
			{name: "cancel_returns_promptly_with_ctx_err", run: testCancelReturnsPromptly},
			{name: "done_context_returns_at_once_without_a_slot", run: testDoneContextUsesNoSlot},
			{name: "canceled_wait_gives_its_slot_back", run: testCanceledWaitGivesSlotBack},
			{name: "no_wait_under_the_rate", run: testNoWaitUnderRate},
			{name: "burst_honoured_after_idle", run: testBurstHonoured},
		}},
		// Refusals lower the shared rate, which then recovers.
		{name: "adaptive", cases: []testCase{
			{name: "ceiling_until_a_refusal", run: testCeilingUntilRefusal},
			{name: "refusals_within_the_hold_off_are_one_decrease", run: testRefusalsWithinHoldOffAreOneDecrease},
			{name: "lowered_rate_paces_every_instance", run: testLoweredRatePacesEveryInstance},
			{name: "rate_recovers_additively_up_to_the_ceiling", run: testRateRecoversAdditively},
			{name: "rate_never_falls_below_the_floor", run: testRateFloor},
			{name: "refusal_spends_the_burst", run: testRefusalSpendsTheBurst},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, newLimiters)
				})
			}
		})
	}
}

// testNeverExceedsRate runs 3 instances with 4 callers each for 1 s and
// checks every window of the grants, and that no caller starves.
func testNeverExceedsRate(t *testing.T, newLimiters limiterFactory) {
	const rate, burst, instances, callersPerInstance = 100.0, 10, 3, 4
	// slack covers the delay between a grant and its time stamp: on a
	// loaded machine grants stamped late bunch up. A limiter that does not
	// limit grants hundreds in a window.
	const slack = 10
	limiters := newLimiters(t, rate, burst, instances)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	var mu sync.Mutex
	var grants []time.Time
	perCaller := make([]int, instances*callersPerInstance)
	start := time.Now()
	var wg sync.WaitGroup
	for caller := range perCaller {
		limiter := limiters[caller%instances]
		wg.Go(func() {
			for {
				if err := limiter.Wait(ctx); err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Wait = %v, want nil or the deadline", err)
					}
					return
				}
				now := time.Now()
				mu.Lock()
				grants = append(grants, now)
				perCaller[caller]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.SortFunc(grants, time.Time.Compare)
	for _, window := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, elapsed} {
		limit := int(rate*window.Seconds()) + burst + slack
		got := maxInWindow(grants, window)
		t.Logf("at most %d grants within %s (bound %d)", got, window, limit-slack)
		if got > limit {
			t.Errorf("%d grants within %s, want at most %d (rate×window + burst)", got, window, limit)
		}
	}
	if floor := int(0.7 * rate * elapsed.Seconds()); len(grants) < floor {
		t.Errorf("%d grants in %s, want at least %d: the limiter holds back more than its rate", len(grants), elapsed, floor)
	}
	fairShare := len(grants) / len(perCaller)
	for caller, n := range perCaller {
		if n < fairShare/4 {
			t.Errorf("caller %d got %d grants, fair share %d: it starves", caller, n, fairShare)
		}
	}
}

// maxInWindow is the largest number of sorted times within any half-open
// window [t, t+window).
func maxInWindow(sorted []time.Time, window time.Duration) int {
	best, first := 0, 0
	for last := range sorted {
		for sorted[last].Sub(sorted[first]) >= window {
			first++
		}
		best = max(best, last-first+1)
	}
	return best
}

func testCancelReturnsPromptly(t *testing.T, newLimiters limiterFactory) {
	tests := []struct {
		name    string
		context func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{name: "deadline", wantErr: context.DeadlineExceeded, context: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}},
		{name: "cancel", wantErr: context.Canceled, context: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limiter := newLimiters(t, 1, 1, 1)[0]
			if err := limiter.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := tt.context()
			defer cancel()
			start := time.Now()
			// The next slot is a second away.
			if err := limiter.Wait(ctx); !errors.Is(err, tt.wantErr) {
				t.Errorf("Wait = %v, want %v", err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
				t.Errorf("Wait returned %s after start, want soon after the 50ms cancel", elapsed)
			}
		})
	}
}

func testDoneContextUsesNoSlot(t *testing.T, newLimiters limiterFactory) {
	limiter := newLimiters(t, 2, 1, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := limiter.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait(done ctx) = %v, want context.Canceled", err)
	}
	start := time.Now()
	if err := limiter.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 250*time.Millisecond {
		t.Errorf("first real Wait took %s, want no wait: the canceled call used the only slot", elapsed)
	}
}

func testCanceledWaitGivesSlotBack(t *testing.T, newLimiters limiterFactory) {
	// A lost slot puts the third grant two intervals after the first, a
	// kept one, one: the interval is long enough that a loaded machine's
	// scheduling delays stay well inside the half interval between them.
	const interval = 500 * time.Millisecond
	limiter := newLimiters(t, 2, 1, 1)[0]
	start := time.Now()
	if err := limiter.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := limiter.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the deadline", err)
	}
	if err := limiter.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > interval*3/2 {
		t.Errorf("third Wait returned %s after the first, want about %s: the canceled slot was lost", elapsed, interval)
	}
}

// testNoWaitUnderRate calls at three eighths of the rate from 3
// instances, evenly spread, and expects no Wait to pace. The burst of 3
// absorbs the three instances' calls bunching when the scheduler runs
// late.
func testNoWaitUnderRate(t *testing.T, newLimiters limiterFactory) {
	const rate, burst, instances, rounds = 20.0, 3, 3, 4
	const interval = 50 * time.Millisecond
	const period = 400 * time.Millisecond // per instance: 7.5/s in total
	limiters := newLimiters(t, rate, burst, instances)
	start := time.Now()
	var wg sync.WaitGroup
	for i, limiter := range limiters {
		wg.Go(func() {
			for round := range rounds {
				// Calls spread in real time: the limit is a rate.
				time.Sleep(time.Until(start.Add(time.Duration(i)*period/instances + time.Duration(round)*period)))
				before := time.Now()
				if err := limiter.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				if waited := time.Since(before); waited >= interval {
					t.Errorf("instance %d round %d waited %s under the rate, want no pacing", i, round, waited)
				}
			}
		})
	}
	wg.Wait()
}

// testBurstHonoured lets the limit go idle, then calls 2×burst times at
// once across 3 instances: exactly burst calls pass at once and the rest
// are paced, the first of them an interval later.
func testBurstHonoured(t *testing.T, newLimiters limiterFactory) {
	const rate, burst, instances = 20.0, 10, 3
	const interval = 50 * time.Millisecond
	limiters := newLimiters(t, rate, burst, instances)
	for _, limiter := range limiters {
		if err := limiter.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Idle until the whole burst is back: the bucket refills in real time
	// (on Redis's clock, for the shared limit).
	time.Sleep(burst*interval + 200*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	waits := make([]time.Duration, 2*burst)
	var wg sync.WaitGroup
	for i := range waits {
		limiter := limiters[i%instances]
		wg.Go(func() {
			if err := limiter.Wait(ctx); err != nil {
				t.Error(err)
			}
			waits[i] = time.Since(start)
		})
	}
	wg.Wait()
	var immediate int
	for _, w := range waits {
		if w < interval*7/10 {
			immediate++
		}
	}
	if immediate != burst {
		slices.Sort(waits)
		t.Errorf("%d of %d calls passed at once, want the burst of %d; waits %v", immediate, len(waits), burst, waits)
	}
}

// assertRate checks that limiter's Rate is within [low, high].
func assertRate(t *testing.T, what string, limiter ratelimit.Adaptive, low, high float64) {
	t.Helper()
	if r := limiter.Rate(); r < low || r > high {
		t.Errorf("%s: Rate = %.3f, want within [%.3f, %.3f]", what, r, low, high)
	}
}

func testCeilingUntilRefusal(t *testing.T, newLimiters limiterFactory) {
	limiters := newLimiters(t, 100, 10, 3)
	for i, limiter := range limiters {
		assertRate(t, fmt.Sprintf("instance %d before any Wait", i), limiter, 100, 100)
		if err := limiter.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		assertRate(t, fmt.Sprintf("instance %d after a Wait", i), limiter, 100, 100)
	}
}

// testRefusalsWithinHoldOffAreOneDecrease: a burst of refusals from every
// instance halves the shared rate once; one after the hold-off halves it
// again.
func testRefusalsWithinHoldOffAreOneDecrease(t *testing.T, newLimiters limiterFactory) {
	const holdOff = 300 * time.Millisecond
	// Recovery: 1 request/s per second, so the rates below drift by at
	// most about a third of a request/s during the test.
	limiters := newLimiters(t, 100, 10, 3,
		ratelimit.WithAdaptation(ratelimit.Adaptation{Decrease: 0.5, HoldOff: holdOff, Recovery: 0.01}))
	start := time.Now()
	var wg sync.WaitGroup
	for _, limiter := range limiters {
		for range 3 {
			wg.Go(func() { limiter.Throttled(context.Background()) })
		}
	}
	wg.Wait()
	refused := time.Now()
	if refused.Sub(start) >= holdOff {
		t.Skip("the refusals took longer than the hold-off on this machine; nothing to conclude")
	}
	for i, limiter := range limiters {
		assertRate(t, fmt.Sprintf("instance %d after 9 refusals within the hold-off", i), limiter, 50, 51)
	}
	// Every decrease so far was made before refused; the hold-off is real
	// time, so it is waited out.
	time.Sleep(time.Until(refused.Add(holdOff + 20*time.Millisecond)))
	limiters[1].Throttled(context.Background())
	// 0.5 × (50 + at most 1/s × elapsed)
	assertRate(t, "after one more refusal past the hold-off", limiters[1], 25, 25.5+0.5*time.Since(start).Seconds())
}

// testLoweredRatePacesEveryInstance halves the rate with one refusal at
// one instance, then checks that 3 instances with 4 callers each stay
// within the lowered rate for 1 s, and get most of it.
func testLoweredRatePacesEveryInstance(t *testing.T, newLimiters limiterFactory) {
	const ceiling, burst, callersPerInstance = 100.0, 10, 4
	const lowered = ceiling / 2
	const slack = 3
	limiters := newLimiters(t, ceiling, burst, 3,
		ratelimit.WithAdaptation(ratelimit.Adaptation{Decrease: 0.5, HoldOff: time.Hour, Recovery: 0.01}))
	limiters[0].Throttled(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var mu sync.Mutex
	var grants []time.Time
	start := time.Now()
	var wg sync.WaitGroup
	for caller := range len(limiters) * callersPerInstance {
		limiter := limiters[caller%len(limiters)]
		wg.Go(func() {
			for limiter.Wait(ctx) == nil {
				mu.Lock()
				grants = append(grants, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.SortFunc(grants, time.Time.Compare)
	// The rate regains 1 request/s per second: about half a request more.
	limit := int(lowered*elapsed.Seconds()+0.5*elapsed.Seconds()*elapsed.Seconds()) + burst + slack
	t.Logf("%d grants in %s at the lowered rate (bound %d)", len(grants), elapsed, limit-slack)
	if len(grants) > limit {
		t.Errorf("%d grants in %s, want at most %d: the lowered rate does not pace every instance", len(grants), elapsed, limit)
	}
	if floor := int(0.7 * lowered * elapsed.Seconds()); len(grants) < floor {
		t.Errorf("%d grants in %s, want at least %d: the limiter holds back more than the lowered rate", len(grants), elapsed, floor)
	}
	for i, limiter := range limiters {
		assertRate(t, fmt.Sprintf("instance %d", i), limiter, lowered, lowered+2)
	}
}

// testRateRecoversAdditively halves the rate, then follows it back: at
// any moment it is 50 + 50/s × the time since the refusal, up to the
// ceiling of 100, as every instance sees it.
func testRateRecoversAdditively(t *testing.T, newLimiters limiterFactory) {
	const ceiling, lowered, perSecond = 100.0, 50.0, 50.0
	// The Redis limiter maps the server's time of the decrease to its own
	// clock within a round trip; a slow one shifts the curve a little.
	const tolerance = 2.0
	limiters := newLimiters(t, ceiling, 10, 3,
		ratelimit.WithAdaptation(ratelimit.Adaptation{Decrease: 0.5, HoldOff: time.Hour, Recovery: perSecond / ceiling}))
	before := time.Now()
	limiters[0].Throttled(context.Background())
	after := time.Now()
	expected := func(at time.Time, from time.Time) float64 {
		return min(ceiling, lowered+perSecond*at.Sub(from).Seconds())
	}
	// The others learn of the decrease from their next reservation.
	for _, limiter := range limiters[1:] {
		if err := limiter.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	samples := 0
	for {
		for i, limiter := range limiters {
			low := expected(time.Now(), after) - tolerance
			r := limiter.Rate()
			high := expected(time.Now(), before) + tolerance
			if r < low || r > high {
				t.Fatalf("instance %d, %s after the refusal: Rate = %.2f, want within [%.2f, %.2f]",
					i, time.Since(before).Round(time.Millisecond), r, low, high)
			}
		}
		samples++
		if time.Since(before) > 1200*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond) // the rate recovers in real time; this paces the samples
	}
	for i, limiter := range limiters {
		assertRate(t, fmt.Sprintf("instance %d once recovered", i), limiter, ceiling, ceiling)
	}
	t.Logf("%d samples on the recovery line", samples)
}

// testRateFloor: refusals past the hold-off, one after another, never take
// the rate below the floor.
func testRateFloor(t *testing.T, newLimiters limiterFactory) {
	limiters := newLimiters(t, 100, 10, 2,
		ratelimit.WithAdaptation(ratelimit.Adaptation{Decrease: 0.5, HoldOff: time.Microsecond, Recovery: 0.01, Floor: 0.1}))
	// Refusals within one hold-off count once, and a loop may make several
	// in one microsecond: refuse until the floor is reached, then 20 more.
	for i := 0; i < 100_000 && limiters[0].Rate() > 10.5; i++ {
		limiters[0].Throttled(context.Background())
	}
	for range 20 {
		limiters[0].Throttled(context.Background())
	}
	assertRate(t, "after refusals past the floor", limiters[0], 10, 10.5)
	if err := limiters[1].Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertRate(t, "the other instance", limiters[1], 10, 10.5)
}

// testRefusalSpendsTheBurst: after a refusal on an idle limit, 2×burst
// calls at once across 3 instances get one slot at once (not the burst:
// the destination's burst is used up when it refuses), and the rest
// paced at the lowered rate.
func testRefusalSpendsTheBurst(t *testing.T, newLimiters limiterFactory) {
	const ceiling, burst = 20.0, 10
	const lowered = 100 * time.Millisecond // interval at 10/s
	limiters := newLimiters(t, ceiling, burst, 3,
		ratelimit.WithAdaptation(ratelimit.Adaptation{Decrease: 0.5, HoldOff: time.Hour, Recovery: 0.01}))
	limiters[0].Throttled(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	waits := make([]time.Duration, 2*burst)
	var wg sync.WaitGroup
	for i := range waits {
		limiter := limiters[i%len(limiters)]
		wg.Go(func() {
			if err := limiter.Wait(ctx); err != nil {
				t.Error(err)
			}
			waits[i] = time.Since(start)
		})
	}
	wg.Wait()
	slices.Sort(waits)
	var immediate int
	for _, w := range waits {
		if w < lowered*7/10 {
			immediate++
		}
	}
	if immediate != 1 {
		t.Errorf("%d of %d calls passed at once after a refusal, want 1; waits %v", immediate, len(waits), waits)
	}
	// Paced at 10/s: the last of 20 calls comes about 1.9 s in.
	if last := waits[len(waits)-1]; last < 17*lowered {
		t.Errorf("the last of %d calls passed %s in, want about %s at the lowered rate", len(waits), last, 19*lowered)
	}
}
