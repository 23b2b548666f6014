package bench

import (
	"slices"
	"sort"
	"time"
)

// Latency summarizes latencies, in milliseconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	P999    float64 `json:"p99_9_ms"`
	Max     float64 `json:"max_ms"`
	// Over counts samples above staleAfter: events older than that when
	// they reached Regal.
	Over int `json:"over_50ms"`
}

// staleAfter is the age past which an event counts as late (Over).
const staleAfter = 50 * time.Millisecond

// summarize sorts samples and returns their quantiles (nearest rank).
func summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	rank := func(q float64) float64 {
		i := int(q*float64(len(samples))+0.999999) - 1
		return milliseconds(samples[min(max(i, 0), len(samples)-1)])
	}
	over := len(samples) - sort.Search(len(samples), func(i int) bool { return samples[i] > staleAfter })
	return Latency{
		Samples: len(samples), Over: over,
		P50: rank(0.50), P99: rank(0.99), P999: rank(0.999),
		Max: milliseconds(samples[len(samples)-1]),
	}
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
