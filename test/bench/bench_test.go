package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBenchTiny runs a small bench (a few thousand lines, paced, two
// dispatchers) and checks that the report is complete and consistent. It
// checks no timing thresholds: the machine's load decides those.
func TestBenchTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes for about 20 s")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH")
	}
	o := DefaultOptions()
	o.Events, o.Rate, o.Dispatchers = 3000, 500, 2
	o.RegalLatency = time.Millisecond
	o.CeilingFor, o.CeilingConcurrency = 2*time.Second, 16
	o.CompleteTimeout = 2 * time.Minute
	o.Dir = t.TempDir()
	var progress bytes.Buffer
	o.Progress, o.ProgressEvery = &progress, 2*time.Second

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, o)
	if progress.Len() == 0 {
		t.Error("no progress line was printed")
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	checkJSON(t, path, r)
}

// checkReport checks that every measurement is present and that the
// numbers agree with each other.
func checkReport(t *testing.T, r *Report, o Options) {
	t.Helper()
	f := r.Flow
	if f.SAPILines != o.Events {
		t.Errorf("published %d lines, want %d", f.SAPILines, o.Events)
	}
	if f.RegalExpected <= 0 || f.RegalExpected > f.SAPILines {
		t.Errorf("Regal expected %d events of %d lines", f.RegalExpected, f.SAPILines)
	}
	if f.RegalDelivered != f.RegalExpected || f.Unknown != 0 || f.Lost != 0 {
		t.Errorf("delivered %d of %d (%d lost), %d unknown", f.RegalDelivered, f.RegalExpected, f.Lost, f.Unknown)
	}
	if f.Seconds <= 0 || f.RegalEventsPerSec <= 0 || f.SAPILinesPerSecond < f.RegalEventsPerSec {
		t.Errorf("inconsistent rates: %+v", f)
	}
	l := r.Latency
	if l.Samples != f.RegalDelivered {
		t.Errorf("%d latency samples for %d events", l.Samples, f.RegalDelivered)
	}
	if !(l.P50 > 0 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency quantiles out of order: %+v", l)
	}
	want := map[string]bool{"redis": true, "sapi-double": true, "regal-double": true, "collector": true,
		"dispatcher-1": true, "dispatcher-2": true}
	if o.TimelineRedis {
		want["redis-timeline"] = true
	}
	for _, u := range r.Usage {
		if !want[u.Name] {
			t.Errorf("unexpected process %q", u.Name)
		}
		delete(want, u.Name)
		if u.PID <= 0 || u.PeakRSSBytes <= 0 || u.CPUSeconds < 0 || u.CPUSecondsPer1000 < 0 {
			t.Errorf("incomplete usage: %+v", u)
		}
	}
	for name := range want {
		t.Errorf("no usage for %s", name)
	}
	if r.Redis.Commands <= 0 || r.Redis.PerRegalEvent < r.Redis.PerSAPILine {
		t.Errorf("inconsistent Redis use: %+v", r.Redis)
	}
	// Every expected event was received and delivered: at least a
	// received and a delivered change each, recorded or dropped.
	if tl := r.Timeline; !tl.Drained || tl.Recorded+tl.Dropped+tl.Failed < int64(2*f.RegalExpected) {
		t.Errorf("timeline %+v for %d events", tl, f.RegalExpected)
	}
	// Each stage ends later than the one before, and every stage saw events.
	s := r.Stages
	if !s.Stored.Known || !s.Dispatcher.Known || !s.Regal.Known || s.Stored.P50 <= 0 ||
		s.Stored.P50 > s.Regal.P50 || s.Regal.P50 > s.Regal.P99 {
		t.Errorf("inconsistent stages: %+v", s)
	}
	c := r.Ceiling
	if c.Accepted <= 0 || c.Requests != c.Accepted+c.Failed || c.AcceptedPerSec <= 0 || c.DistinctBodies <= 0 {
		t.Errorf("inconsistent ceiling: %+v", c)
	}
	if r.Host.CPUs <= 0 || r.Host.GoVersion == "" {
		t.Errorf("incomplete host: %+v", r.Host)
	}
	if r.Ratio <= 0 {
		t.Errorf("ratio %g", r.Ratio)
	}
	if len(r.UnexpectedExits) > 0 {
		t.Errorf("unexpected exits: %v", r.UnexpectedExits)
	}
}

// checkJSON checks that the JSON copy reads back as the same report.
func checkJSON(t *testing.T, path string, r *Report) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Flow != r.Flow || back.Latency != r.Latency || back.Stages != r.Stages || back.Ceiling != r.Ceiling || len(back.Usage) != len(r.Usage) {
		t.Errorf("JSON copy differs from the report:\n%s", b)
	}
}
