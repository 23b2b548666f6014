package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ccbridge/bridge/test/chaos"
)

// reportProgress writes one line every interval until ctx ends: time
// since start, lines published, events Regal accepted, and each
// process's current RSS (the soak shows it flat).
func reportProgress(ctx context.Context, w io.Writer, every time.Duration, h *chaos.Harness, pub *publisher, start time.Time, samples *rssSamples) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		accepted := "?"
		if st, err := h.RegalStats(ctx); err == nil {
			accepted = fmt.Sprint(st.Accepted)
		}
		line, rss := rssLine(h.ProcessIDs())
		samples.add(time.Since(start), rss)
		fmt.Fprintf(w, "%8s  published %d  regal accepted %s  rss %s\n",
			time.Since(start).Round(time.Second), pub.published.Load(), accepted, line)
	}
}

// rssLine is "name=12.3MB …" for every process, in name order, and the
// same figures (MB) by name.
func rssLine(pids map[string]int) (string, map[string]float64) {
	var b strings.Builder
	mb := map[string]float64{}
	for _, name := range slices.Sorted(maps.Keys(pids)) {
		m, err := memoryOf(pids[name])
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if err != nil {
			fmt.Fprintf(&b, "%s=?", name)
			continue
		}
		mb[name] = float64(m.rss) / (1 << 20)
		fmt.Fprintf(&b, "%s=%.1fMB", name, mb[name])
	}
	return b.String(), mb
}
