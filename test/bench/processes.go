package bench

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// ProcessUsage is one child's resource use during the measured interval.
type ProcessUsage struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// CPUSeconds is user + system time from the first publish to the
	// last 200; CPUSecondsPer1000 divides it by the Regal events expected
	// (all of them accepted by then) / 1,000.
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUSecondsPer1000 float64 `json:"cpu_seconds_per_1000_events"`
	// PeakRSSBytes is VmHWM at the end of the interval (start-up
	// included, the ceiling not).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// cpuMark is every child's CPU time at one moment.
type cpuMark map[string]time.Duration

// markCPU reads the CPU time of every process in pids.
func markCPU(pids map[string]int) (cpuMark, error) {
	m := cpuMark{}
	for name, pid := range pids {
		t, err := cpuTime(pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m[name] = t
	}
	return m, nil
}

// usage is each process's use between two marks, with its peak RSS now,
// in name order.
func usage(pids map[string]int, from, to cpuMark, regalEvents int) ([]ProcessUsage, error) {
	var out []ProcessUsage
	for _, name := range slices.Sorted(maps.Keys(pids)) {
		mem, err := memoryOf(pids[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cpu := (to[name] - from[name]).Seconds()
		u := ProcessUsage{Name: name, PID: pids[name], CPUSeconds: cpu, PeakRSSBytes: mem.peakRSS}
		if regalEvents > 0 {
			u.CPUSecondsPer1000 = cpu / float64(regalEvents) * 1000
		}
		out = append(out, u)
	}
	return out, nil
}
