package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Sweep runs the bench once per dispatcher count, one after the other,
// with otherwise the same options: it shows whether adding dispatchers
// adds throughput (it does while the dispatchers, not the machine, are
// the limit: give them a Regal latency and a max in flight that bound
// each one well below what the machine can carry).
func Sweep(ctx context.Context, o Options, dispatchers []int) ([]*Report, error) {
	if len(dispatchers) == 0 {
		return nil, fmt.Errorf("sweep: no dispatcher counts")
	}
	var out []*Report
	for _, n := range dispatchers {
		run := o
		run.Dispatchers = n
		if o.Dir != "" {
			run.Dir = fmt.Sprintf("%s/dispatchers-%d", o.Dir, n)
		}
		if o.CPUProfileDir != "" {
			run.CPUProfileDir = fmt.Sprintf("%s/dispatchers-%d", o.CPUProfileDir, n)
		}
		r, err := Run(ctx, run)
		if err != nil {
			return out, fmt.Errorf("sweep with %d dispatchers: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// WriteSweepSummary writes each run's throughput and its growth over the
// first run's.
func WriteSweepSummary(w io.Writer, reports []*Report) error {
	var b strings.Builder
	for i, r := range reports {
		growth := 1.0
		if base := reports[0].Flow.RegalEventsPerSec; base > 0 {
			growth = r.Flow.RegalEventsPerSec / base
		}
		if i == 0 {
			fmt.Fprintf(&b, "sweep        %d dispatchers: %.0f Regal events/s\n", r.Setup.Dispatchers, r.Flow.RegalEventsPerSec)
			continue
		}
		fmt.Fprintf(&b, "sweep        %d dispatchers: %.0f Regal events/s  (×%.2f over %d)\n",
			r.Setup.Dispatchers, r.Flow.RegalEventsPerSec, growth, reports[0].Setup.Dispatchers)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSweepJSON writes the sweep's reports as one JSON array to path.
func WriteSweepJSON(path string, reports []*Report) error {
	b, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
