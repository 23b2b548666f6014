package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/ccbridge/bridge/test/promtext"
)

// Stages splits the latency at the points where the bridge itself
// measures it, each from the collector reading a line off SAPI: the event
// stored in Redis, handed to a dispatcher (first delivery), and its first
// Regal request leaving the dispatcher. They are read from the services'
// histograms (ccb_collector_event_wait_seconds, ccb_dispatcher_event_age_seconds),
// so they are estimates within bucket bounds; the bench's own latency
// minus the last stage is the SAPI double's hand-over and the read.
type Stages struct {
	Stored     StageLatency `json:"read_to_stored"`
	Dispatcher StageLatency `json:"read_to_dispatcher"`
	Regal      StageLatency `json:"read_to_regal_request"`
}

// StageLatency is one stage's quantiles in milliseconds; Known is false
// when the histogram held nothing.
type StageLatency struct {
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Known bool    `json:"known"`
}

// readStages scrapes the collector and the dispatchers (whose series add
// up) and estimates each stage's quantiles.
func readStages(ctx context.Context, collectorURL string, dispatcherURLs []string) (Stages, error) {
	collector, err := scrape(ctx, collectorURL)
	if err != nil {
		return Stages{}, err
	}
	dispatchers := map[string]float64{}
	for _, url := range dispatcherURLs {
		m, err := scrape(ctx, url)
		if err != nil {
			return Stages{}, err
		}
		for series, v := range m {
			dispatchers[series] += v
		}
	}
	const wait, age = "ccb_collector_event_wait_seconds", "ccb_dispatcher_event_age_seconds"
	return Stages{
		Stored:     stageOf(collector, wait, `stage="admitted"`),
		Dispatcher: stageOf(collector, wait, `stage="sent"`),
		Regal:      stageOf(dispatchers, age, `redelivery="false"`),
	}, nil
}

func stageOf(m map[string]float64, name, label string) StageLatency {
	p50, ok50 := promtext.Quantile(m, name, 0.50, label)
	p99, ok99 := promtext.Quantile(m, name, 0.99, label)
	return StageLatency{P50: p50 * 1000, P99: p99 * 1000, Known: ok50 && ok99}
}

// text is the report's stages line after its label.
func (s Stages) text() string {
	var parts []string
	for _, st := range []struct {
		name string
		l    StageLatency
	}{{"stored", s.Stored}, {"to a dispatcher", s.Dispatcher}, {"Regal request sent", s.Regal}} {
		if st.l.Known {
			parts = append(parts, fmt.Sprintf("%s p50 %.1fms p99 %.1fms", st.name, st.l.P50, st.l.P99))
		} else {
			parts = append(parts, st.name+" unknown")
		}
	}
	return "read off SAPI → " + strings.Join(parts, " · ") + "  (the services' histograms)"
}
