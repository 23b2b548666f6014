package chaos

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestPlanFaults(t *testing.T) {
	o := FullOptions()
	plan := planFaults(o, rand.New(rand.NewPCG(1, 2)))
	counts := map[FaultKind]int{}
	for i, f := range plan {
		counts[f.Kind]++
		if f.At < 0 || f.At > o.PublishFor*9/10 || (i > 0 && f.At <= plan[i-1].At) {
			t.Errorf("fault %d (%s) at %s: out of the window or of order", i, f.Kind, f.At)
		}
		if f.Kind == FaultDispatcherKill && (f.Target < 0 || f.Target >= o.Dispatchers) {
			t.Errorf("fault %d kills dispatcher %d of %d", i, f.Target, o.Dispatchers)
		}
		if f.Kind == FaultRegalOutage && f.Down != o.RegalOutage {
			t.Errorf("outage lasts %s, want %s", f.Down, o.RegalOutage)
		}
	}
	want := map[FaultKind]int{
		FaultCollectorKill: o.CollectorKills, FaultDispatcherKill: o.DispatcherKills, FaultRedisRestart: o.RedisRestarts,
		FaultRateLimitBurst: o.RateLimitBursts, FaultSAPICut: o.SAPICuts, FaultSAPIFailover: o.SAPIFailovers, FaultRegalOutage: 1,
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("planned %v, want %v", counts, want)
	}
	if again := planFaults(o, rand.New(rand.NewPCG(1, 2))); !reflect.DeepEqual(again, plan) {
		t.Error("the same seed planned other faults")
	}
}

func TestWithRepeats(t *testing.T) {
	events := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")}
	lines, repeats := withRepeats(events, 0.5, rand.New(rand.NewPCG(3, 4)))
	if len(lines) != len(events)+repeats || repeats == 0 {
		t.Fatalf("%d lines with %d repeats for %d events", len(lines), repeats, len(events))
	}
	// Events are single letters in order, so a repeat is a line at most the
	// last event published.
	next := 0 // the next event expected in its first occurrence
	for _, line := range lines {
		switch {
		case next < len(events) && string(line) == string(events[next]):
			next++
		case string(line) >= string(events[next-1]) && string(line) != string(events[next-1]):
			t.Fatalf("line %q repeats an event not yet published", line)
		}
	}
	if next != len(events) {
		t.Fatalf("only %d events published in order", next)
	}
}
