package bench

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// rssWarmUp is when a process's memory counts as warmed up: the
// collector's caches of recent interactions fill within the first minutes
// at 1,000 events/s.
const rssWarmUp = 5 * time.Minute

// RSSTrend is how one process's RSS moved over a run with progress
// samples: after warm-up it should stay flat.
type RSSTrend struct {
	Name string `json:"name"`
	// WarmMB is the first sample at or after rssWarmUp (the first sample
	// at all in a shorter run), LastMB the last one, ChangePct the change
	// from the one to the other.
	WarmAt    float64 `json:"warm_at_seconds"`
	WarmMB    float64 `json:"warm_mb"`
	LastMB    float64 `json:"last_mb"`
	ChangePct float64 `json:"change_pct"`
	// MinMB and MaxMB span every sample after warm-up.
	MinMB float64 `json:"min_mb"`
	MaxMB float64 `json:"max_mb"`
}

// rssSample is one progress sample: seconds since the start and RSS per
// process.
type rssSample struct {
	at  float64
	rss map[string]float64 // MB
}

// rssSamples collects progress samples; safe for concurrent use.
type rssSamples struct {
	mu      sync.Mutex
	samples []rssSample
}

func (s *rssSamples) add(at time.Duration, rss map[string]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, rssSample{at: at.Seconds(), rss: rss})
}

// trends summarizes the samples per process, in name order; none without
// samples.
func (s *rssSamples) trends() []RSSTrend {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return nil
	}
	warm := 0
	for i, x := range s.samples {
		if x.at >= rssWarmUp.Seconds() {
			warm = i
			break
		}
	}
	after := s.samples[warm:]
	var out []RSSTrend
	for _, name := range slices.Sorted(maps.Keys(after[0].rss)) {
		t := RSSTrend{Name: name, WarmAt: after[0].at, WarmMB: after[0].rss[name], MinMB: after[0].rss[name], MaxMB: after[0].rss[name]}
		for _, x := range after {
			v, ok := x.rss[name]
			if !ok {
				continue
			}
			t.LastMB = v
			t.MinMB, t.MaxMB = min(t.MinMB, v), max(t.MaxMB, v)
		}
		if t.WarmMB > 0 {
			t.ChangePct = 100 * (t.LastMB - t.WarmMB) / t.WarmMB
		}
		out = append(out, t)
	}
	return out
}
