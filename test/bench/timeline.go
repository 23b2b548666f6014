package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TimelineUse is what the collector's timeline writer did with the run's
// changes: it writes behind delivery and drops (counts) what does not fit
// its queue, so a run that outpaces it delivers everything but records
// less for the query API.
type TimelineUse struct {
	Recorded int64 `json:"recorded"`
	Dropped  int64 `json:"dropped"`
	Failed   int64 `json:"failed"`
	// Drained says the writer's queue was empty when read; if not, some
	// changes were still waiting (recorded later, not counted here).
	Drained bool `json:"drained"`
}

// timelineDrainWait bounds the wait for the timeline writer to catch up
// after Regal accepted everything.
const timelineDrainWait = 30 * time.Second

// readTimeline waits until the collector's timeline queue is empty (or
// timelineDrainWait passed) and reads its counters from metricsURL.
func readTimeline(ctx context.Context, metricsURL string) (TimelineUse, error) {
	deadline := time.Now().Add(timelineDrainWait)
	for {
		m, err := scrape(ctx, metricsURL)
		if err != nil {
			return TimelineUse{}, err
		}
		t := TimelineUse{Recorded: int64(m[`ccb_collector_timeline_changes_total{result="recorded"}`]),
			Dropped: int64(m[`ccb_collector_timeline_changes_total{result="dropped"}`]),
			Failed:  int64(m[`ccb_collector_timeline_changes_total{result="failed"}`]),
			Drained: m["ccb_collector_timeline_queued_bytes"] == 0}
		if t.Drained || time.Now().After(deadline) {
			return t, nil
		}
		if err := sleepUntil(ctx, time.Now().Add(200*time.Millisecond)); err != nil {
			return t, err
		}
	}
}

// scrape reads a Prometheus text page into "name{labels}" → value, keeping
// of the labels only those that are not the exporter's scope labels.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		out[seriesKey(line[:sp])] = v
	}
	return out, sc.Err()
}

// seriesKey drops the otel_scope_* labels from a series name.
func seriesKey(series string) string {
	open := strings.IndexByte(series, '{')
	if open < 0 {
		return series
	}
	var kept []string
	for l := range strings.SplitSeq(strings.TrimSuffix(series[open+1:], "}"), ",") {
		if l != "" && !strings.HasPrefix(l, "otel_scope_") {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return series[:open]
	}
	return series[:open] + "{" + strings.Join(kept, ",") + "}"
}
