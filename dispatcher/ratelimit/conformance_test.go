package ratelimit_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
)

// limiterFactory builds instances limiters sharing one limit of rate per
// second and burst, as that many dispatcher processes would.
type limiterFactory func(t *testing.T, rate float64, burst, instances int) []ratelimit.Limiter

func TestLocal_conformance(t *testing.T) {
	t.Parallel()
	testConformance(t, func(_ *testing.T, rate float64, burst, instances int) []ratelimit.Limiter {
		shared := ratelimit.NewLocal(rate, burst)
		return slices.Repeat([]ratelimit.Limiter{shared}, instances)
	})
}

func TestRedis_conformance(t *testing.T) {
	t.Parallel()
	for _, backend := range redisBackends() {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			testConformance(t, func(t *testing.T, rate float64, burst, instances int) []ratelimit.Limiter {
				addr := backend.start(t)
				limiters := make([]ratelimit.Limiter, instances)
				for i := range limiters {
					limiters[i] = ratelimit.NewRedis(newClient(t, addr), ratelimit.Key("test", "acme"), rate, burst,
						ratelimit.WithProcesses(instances), ratelimit.WithLogger(quiet))
				}
				return limiters
			})
		})
	}
}

// testConformance runs the Limiter contract against newLimiters. Cases
// run in parallel, each on its own limit.
func testConformance(t *testing.T, newLimiters limiterFactory) {
	cases := []struct {
		name string
		run  func(*testing.T, limiterFactory)
	}{
		{name: "never_exceeds_rate_times_duration_plus_burst", run: testNeverExceedsRate},
		{name: "cancel_returns_promptly_with_ctx_err", run: testCancelReturnsPromptly},
		{name: "done_context_returns_at_once_without_a_slot", run: testDoneContextUsesNoSlot},
		{name: "canceled_wait_gives_its_slot_back", run: testCanceledWaitGivesSlotBack},
		{name: "no_wait_under_the_rate", run: testNoWaitUnderRate},
		{name: "burst_honoured_after_idle", run: testBurstHonoured},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newLimiters)
		})
	}
}

// testNeverExceedsRate runs 3 instances with 4 callers each for 1 s and
// checks every window of the grants, and that no caller starves.
func testNeverExceedsRate(t *testing.T, newLimiters limiterFactory) {
	const rate, burst, instances, callersPerInstance = 100.0, 10, 3, 4
	// slack covers the delay between a grant and its time stamp.
	const slack = 3
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
	const interval = 200 * time.Millisecond
	limiter := newLimiters(t, 5, 1, 1)[0]
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
