package poll

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	tests := []struct {
		name string
		// holdsFrom is the call from which cond holds (0: never).
		holdsFrom int64
		d         time.Duration
		want      bool
	}{
		{name: "holding_at_once_is_checked_once", holdsFrom: 1, d: time.Second, want: true},
		{name: "coming_about_later_is_seen", holdsFrom: 4, d: 10 * time.Second, want: true},
		{name: "never_holding_times_out", holdsFrom: 0, d: 30 * time.Millisecond, want: false},
		{name: "zero_duration_still_checks_once", holdsFrom: 1, d: 0, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int64
			cond := func() bool { calls++; return tt.holdsFrom > 0 && calls >= tt.holdsFrom }
			start := time.Now()
			if got := Wait(tt.d, cond); got != tt.want {
				t.Fatalf("Wait = %v, want %v", got, tt.want)
			}
			if tt.want && calls != tt.holdsFrom {
				t.Errorf("cond called %d times, want %d: it stops at the first true", calls, tt.holdsFrom)
			}
			if !tt.want && time.Since(start) < tt.d {
				t.Errorf("gave up after %s, before its %s", time.Since(start), tt.d)
			}
		})
	}
}

func TestUntil_returns_once_another_goroutine_makes_it_hold(t *testing.T) {
	var done atomic.Bool
	go func() { done.Store(true) }()
	Until(t, "the goroutine", done.Load)
}

// recorder is a testing.TB that records a failure instead of ending the
// test, so that a timeout can be checked.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestUntil_names_what_it_waited_for_when_it_times_out(t *testing.T) {
	r := &recorder{TB: t}
	until(r, 20*time.Millisecond, "the moon", func() bool { return false })
	if want := "timed out waiting for the moon"; r.failed != want {
		t.Fatalf("failed with %q, want %q", r.failed, want)
	}
}
