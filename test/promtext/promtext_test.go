package promtext

import (
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
