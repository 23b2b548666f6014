package chaos

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"
)

// TestChaosShort is the chaos run in small: a few thousand SAPI events,
// two collector kills, three dispatcher kills, a Redis restart, a short
// Regal outage, 429 bursts, 10 % 5xx, SAPI cuts and a failover. Nothing
// may be lost and every interaction must reach Regal in order. The run
// directory (logs, Redis data) is kept when the test fails.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos run starts real processes for about a minute")
	}
	dir, err := os.MkdirTemp("", "ccbridge-chaos-short-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("run directory kept: %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	o := ShortOptions()
	o.Dir = dir
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	h, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	report, err := h.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	report.WriteText(t.Output())

	out := report.Outcome
	if !report.Settled {
		t.Error("the bridge still held unsettled events at the end")
	}
	if out.Lost > 0 || out.OrderViolations > 0 || out.Unexpected > 0 {
		t.Errorf("%d lost, %d out of order, %d unexpected (examples: %v %v %v)",
			out.Lost, out.OrderViolations, out.Unexpected, out.LostExamples, out.OrderExamples, out.UnexpectedExamples)
	}
	if report.SAPIEvents < 3000 {
		t.Errorf("only %d SAPI events published", report.SAPIEvents)
	}
	want := map[FaultKind]int{FaultCollectorKill: o.CollectorKills, FaultDispatcherKill: o.DispatcherKills,
		FaultRedisRestart: o.RedisRestarts, FaultRegalOutage: 1}
	for kind, n := range want {
		if report.FaultCounts[kind] < n {
			t.Errorf("%d × %s injected, want %d", report.FaultCounts[kind], kind, n)
		}
	}
}
