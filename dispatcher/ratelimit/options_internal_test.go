package ratelimit

import (
	"testing"
	"time"
)

func TestRedisOptions_resolve(t *testing.T) {
	tests := []struct {
		name          string
		opts          []Option
		rate          float64
		burst         int
		wantProcesses int
		wantBatch     int
		wantPrefetch  int
	}{
		{name: "regal_limit_alone", rate: 300, burst: 30, wantProcesses: 1, wantBatch: 30, wantPrefetch: 14},
		{name: "regal_limit_three_dispatchers", rate: 300, burst: 30, opts: []Option{WithProcesses(3)},
			wantProcesses: 3, wantBatch: 30, wantPrefetch: 4},
		{name: "batch_capped_at_64", rate: 10000, burst: 1000, wantProcesses: 1, wantBatch: 64, wantPrefetch: 63},
		{name: "slow_rate_batch_of_one_no_prefetch", rate: 5, burst: 10, wantProcesses: 1, wantBatch: 1, wantPrefetch: 0},
		{name: "burst_of_one_no_prefetch", rate: 300, burst: 1, wantProcesses: 1, wantBatch: 30, wantPrefetch: 0},
		{name: "prefetch_capped_by_burst_share", rate: 300, burst: 30, opts: []Option{WithProcesses(3), WithPrefetch(20)},
			wantProcesses: 3, wantBatch: 30, wantPrefetch: 9},
		{name: "prefetch_capped_by_batch", rate: 300, burst: 300, opts: []Option{WithBatch(8), WithPrefetch(20)},
			wantProcesses: 1, wantBatch: 8, wantPrefetch: 7},
		{name: "negative_prefetch_is_none", rate: 300, burst: 30, opts: []Option{WithPrefetch(-1)},
			wantProcesses: 1, wantBatch: 30, wantPrefetch: 0},
		{name: "nonsense_processes_is_one", rate: 300, burst: 30, opts: []Option{WithProcesses(0)},
			wantProcesses: 1, wantBatch: 30, wantPrefetch: 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o redisOptions
			for _, opt := range tt.opts {
				opt(&o)
			}
			o = o.resolve(tt.rate, tt.burst)
			if o.processes != tt.wantProcesses || o.batch != tt.wantBatch || o.prefetch != tt.wantPrefetch {
				t.Errorf("processes, batch, prefetch = %d, %d, %d; want %d, %d, %d",
					o.processes, o.batch, o.prefetch, tt.wantProcesses, tt.wantBatch, tt.wantPrefetch)
			}
			if shared := tt.burst - o.processes*o.prefetch; shared < 1 {
				t.Errorf("burst left to Redis = %d, want at least 1", shared)
			}
			if o.timeout != DefaultRedisTimeout || o.retryInterval != DefaultRetryInterval || o.logger == nil {
				t.Errorf("timeout %s, retry %s, logger %v; want the defaults", o.timeout, o.retryInterval, o.logger)
			}
		})
	}
}

func TestInterval_never_raises_the_rate(t *testing.T) {
	tests := []struct {
		rate float64
		want time.Duration
	}{
		{rate: 300, want: 3333334 * time.Nanosecond},
		{rate: 1, want: time.Second},
		{rate: 0.5, want: 2 * time.Second},
		{rate: 3e9, want: time.Nanosecond},
	}
	for _, tt := range tests {
		if got := interval(tt.rate); got != tt.want {
			t.Errorf("interval(%v) = %s, want %s", tt.rate, got, tt.want)
		}
	}
}

func TestRedisLimiter_dropStale_keeps_prefetch_due_slots(t *testing.T) {
	now := time.Now()
	at := func(ms int) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name     string
		prefetch int
		pool     []time.Time
		want     []time.Time
	}{
		{name: "oldest_due_dropped", prefetch: 2, pool: []time.Time{at(-30), at(-20), at(-10), at(10)},
			want: []time.Time{at(-20), at(-10), at(10)}},
		{name: "future_slots_kept", prefetch: 0, pool: []time.Time{at(10), at(20)},
			want: []time.Time{at(10), at(20)}},
		{name: "slot_due_now_counts_as_due", prefetch: 0, pool: []time.Time{now, at(5)},
			want: []time.Time{at(5)}},
		{name: "within_prefetch_untouched", prefetch: 3, pool: []time.Time{at(-30), at(-20)},
			want: []time.Time{at(-30), at(-20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &redisLimiter{opts: redisOptions{prefetch: tt.prefetch}, pool: tt.pool}
			l.dropStale(now)
			if len(l.pool) != len(tt.want) {
				t.Fatalf("pool = %v, want %v", l.pool, tt.want)
			}
			for i := range tt.want {
				if !l.pool[i].Equal(tt.want[i]) {
					t.Errorf("pool[%d] = %s, want %s", i, l.pool[i], tt.want[i])
				}
			}
		})
	}
}

func TestInsertSorted(t *testing.T) {
	base := time.Now()
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	got := []time.Time{}
	for _, ms := range []int{30, 10, 20, 40, 0, 20} {
		got = insertSorted(got, at(ms))
	}
	for i, ms := range []int{0, 10, 20, 20, 30, 40} {
		if !got[i].Equal(at(ms)) {
			t.Errorf("slot %d = %s, want +%dms", i, got[i].Sub(base), ms)
		}
	}
}
