package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 1000; i >= 1; i-- { // unsorted on purpose
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	got := summarize(samples)
	// 1..50 ms are on time, 51..1000 ms late.
	want := Latency{Samples: 1000, P50: 500, P99: 990, P999: 999, Max: 1000, Over: 950}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if (summarize(nil) != Latency{}) {
		t.Error("no samples must give an empty summary")
	}
}

func TestProcReadsThisProcess(t *testing.T) {
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := memoryOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.rss <= 0 || m.peakRSS < m.rss {
		t.Errorf("memory %+v: want 0 < rss <= peak", m)
	}
}

func TestScriptHandsOutExactlyTheTotal(t *testing.T) {
	s := newScript(3, 2500)
	total := 0
	for {
		lines, err := s.next(700)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			break
		}
		total += len(lines)
	}
	if total != 2500 {
		t.Errorf("handed out %d lines, want 2500", total)
	}
}

func TestSweepSummaryShowsGrowthOverTheFirstRun(t *testing.T) {
	run := func(dispatchers int, perSec float64) *Report {
		return &Report{Setup: Setup{Dispatchers: dispatchers}, Flow: Flow{RegalEventsPerSec: perSec}}
	}
	var b strings.Builder
	if err := WriteSweepSummary(&b, []*Report{run(1, 400), run(4, 1500)}); err != nil {
		t.Fatal(err)
	}
	want := "sweep        1 dispatchers: 400 Regal events/s\n" +
		"sweep        4 dispatchers: 1500 Regal events/s  (×3.75 over 1)\n"
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRSSTrendStartsAfterWarmUp(t *testing.T) {
	var s rssSamples
	for i, mb := range []float64{20, 40, 50, 50, 55, 52} {
		// One sample a minute; warm-up ends at 5 minutes (the 50 of 5m).
		s.add(time.Duration(i+1)*time.Minute, map[string]float64{"collector": mb})
	}
	got := s.trends()
	want := []RSSTrend{{Name: "collector", WarmAt: 300, WarmMB: 55, LastMB: 52, ChangePct: 100 * (52.0 - 55) / 55, MinMB: 52, MaxMB: 55}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("trends = %+v, want %+v", got, want)
	}
	var short rssSamples
	short.add(time.Minute, map[string]float64{"collector": 30})
	short.add(2*time.Minute, map[string]float64{"collector": 33})
	if got := short.trends(); len(got) != 1 || got[0].WarmMB != 30 || got[0].LastMB != 33 {
		t.Fatalf("a run shorter than the warm-up starts at its first sample, got %+v", got)
	}
	if (&rssSamples{}).trends() != nil {
		t.Fatal("no samples, no trend")
	}
}
