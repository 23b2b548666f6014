package regal_test

import (
	"context"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
	"github.com/ccbridge/bridge/doubles/regaldouble"
)

func TestClient_Send_reports_429s_to_an_adaptive_limiter(t *testing.T) {
	const ceiling = 100.0
	tests := []struct {
		name        string
		faults      []regaldouble.Fault
		wantRate    float64 // right after the Send, give or take the recovery
		wantMinTime time.Duration
	}{
		{name: "ok_leaves_the_rate", wantRate: ceiling},
		{name: "server_errors_leave_the_rate", faults: []regaldouble.Fault{{Status: 503}, {Status: 500}}, wantRate: ceiling},
		{name: "a_429_lowers_the_rate", faults: []regaldouble.Fault{{Status: 429}}, wantRate: 0.7 * ceiling},
		// Both refusals fall within the limiter's hold-off: one decrease.
		{name: "a_burst_of_429s_lowers_it_once", faults: []regaldouble.Fault{{Status: 429}, {Status: 429}}, wantRate: 0.7 * ceiling},
		{name: "retry_after_is_still_honoured", faults: []regaldouble.Fault{{Status: 429, RetryAfter: "30"}},
			wantRate: 0.7 * ceiling, wantMinTime: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			double := startDouble(t)
			double.SetFaults(tt.faults...)
			limiter := ratelimit.NewLocal(ceiling, 10, ratelimit.WithAdaptation(ratelimit.Adaptation{HoldOff: time.Hour}))
			cfg := fastConfig(double.URL())
			cfg.Limiter = limiter
			start := time.Now()
			res := newClient(t, cfg).Send(context.Background(), testKey, sampleEvent())
			elapsed := time.Since(start)
			if res.Err != nil || res.Attempts != len(tt.faults)+1 {
				t.Fatalf("Send: %d attempts, err %v; want delivered after %d", res.Attempts, res.Err, len(tt.faults)+1)
			}
			// The default recovery regains a few requests/s per second.
			if r := limiter.Rate(); r < tt.wantRate || r > tt.wantRate+ratelimit.DefaultRecovery*ceiling*elapsed.Seconds()+0.01 {
				t.Errorf("limiter rate %.2f after the Send, want %.2f", r, tt.wantRate)
			}
			if elapsed < tt.wantMinTime {
				t.Errorf("Send took %s, want at least %s (Retry-After, capped)", elapsed, tt.wantMinTime)
			}
		})
	}
}
