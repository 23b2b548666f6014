package promtext

import (
	"math"
	"strings"
	"testing"
)

const page = `# HELP ccb_collector_timeline_changes_total Timeline changes.
# TYPE ccb_collector_timeline_changes_total counter
ccb_collector_timeline_changes_total{otel_scope_name="x",result="dropped"} 3
ccb_collector_timeline_changes_total{otel_scope_name="x",result="recorded"} 40
ccb_collector_timeline_queued_bytes{otel_scope_name="x"} 1.5e+06
ccb_collector_backlog 7
not_a_number NaNx
`

func TestParseAndSum(t *testing.T) {
	m, err := Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{name: "every_series_of_a_metric", metric: "ccb_collector_timeline_changes_total", want: 43},
		{name: "series_with_a_label", metric: "ccb_collector_timeline_changes_total", labels: []string{`result="dropped"`}, want: 3},
		{name: "series_with_only_scope_labels", metric: "ccb_collector_timeline_queued_bytes", want: 1.5e6},
		{name: "series_without_labels", metric: "ccb_collector_backlog", want: 7},
		{name: "a_name_prefix_is_not_the_metric", metric: "ccb_collector_timeline", want: 0},
		{name: "an_unparsable_value_is_skipped", metric: "not_a_number", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sum(m, tt.metric, tt.labels...); got != tt.want {
				t.Fatalf("Sum(%s, %v) = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
}

// Two processes' series of one histogram: 10 observations ≤ 1 ms, 10 in
// (1, 2] ms, 10 in (2, 5] ms in each; one more above 5 ms in the second.
const histograms = `ccb_x_seconds_bucket{proc="a",stage="s",le="0.001"} 10
ccb_x_seconds_bucket{proc="a",stage="s",le="0.002"} 20
ccb_x_seconds_bucket{proc="a",stage="s",le="0.005"} 30
ccb_x_seconds_bucket{proc="a",stage="s",le="+Inf"} 30
ccb_x_seconds_bucket{proc="b",stage="s",le="0.001"} 10
ccb_x_seconds_bucket{proc="b",stage="s",le="0.002"} 20
ccb_x_seconds_bucket{proc="b",stage="s",le="0.005"} 30
ccb_x_seconds_bucket{proc="b",stage="s",le="+Inf"} 31
ccb_x_seconds_bucket{proc="a",stage="other",le="0.001"} 0
ccb_x_seconds_bucket{proc="a",stage="other",le="+Inf"} 0
ccb_x_seconds_count{proc="a",stage="s"} 30
`

func TestQuantile(t *testing.T) {
	m, err := Parse(strings.NewReader(histograms))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		q      float64
		labels []string
		want   float64
		wantOK bool
	}{
		{name: "median_of_both_processes_interpolated_in_its_bucket", q: 0.5, labels: []string{`stage="s"`}, want: 0.001 + 0.001*(30.5-20)/20, wantOK: true},
		{name: "low_quantile_in_the_first_bucket_from_zero", q: 0.1, labels: []string{`stage="s"`}, want: 0.001 * 6.1 / 20, wantOK: true},
		{name: "one_process_only", q: 0.5, labels: []string{`proc="a"`, `stage="s"`}, want: 0.0015, wantOK: true},
		{name: "quantile_in_the_inf_bucket_is_the_highest_finite_bound", q: 0.999, labels: []string{`proc="b"`}, want: 0.005, wantOK: true},
		{name: "empty_histogram_is_not_ok", q: 0.5, labels: []string{`stage="other"`}},
		{name: "unknown_metric_is_not_ok", q: 0.5, labels: []string{`stage="none"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Quantile(m, "ccb_x_seconds", tt.q, tt.labels...)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("Quantile(%v, %v) = %v, %v; want %v, %v", tt.q, tt.labels, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
