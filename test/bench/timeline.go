package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ccbridge/bridge/test/promtext"
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
		const changes = "ccb_collector_timeline_changes_total"
		t := TimelineUse{Recorded: int64(promtext.Sum(m, changes, `result="recorded"`)),
			Dropped: int64(promtext.Sum(m, changes, `result="dropped"`)),
			Failed:  int64(promtext.Sum(m, changes, `result="failed"`)),
			Drained: promtext.Sum(m, "ccb_collector_timeline_queued_bytes") == 0}
		if t.Drained || time.Now().After(deadline) {
			return t, nil
		}
		if err := sleepUntil(ctx, time.Now().Add(200*time.Millisecond)); err != nil {
			return t, err
		}
	}
}

// scrape reads a service's metrics page.
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
	return promtext.Parse(resp.Body)
}
