package sapi

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestHeartbeats_stall_timeout(t *testing.T) {
	const floor, ceiling = 15 * time.Second, 180 * time.Second
	s := time.Second
	tests := []struct {
		name string
		// arrivals are heartbeat times in seconds from the start; a
		// negative value starts a new stream at its absolute value.
		arrivals []float64
		want     time.Duration
	}{
		{"nothing_yet_is_the_ceiling", nil, ceiling},
		{"one_interval_is_not_enough", []float64{0, 10}, ceiling},
		{"two_intervals_learn_three_times_the_interval", []float64{0, 10, 20}, 30 * s},
		{"the_longest_recent_interval_counts", []float64{0, 10, 20, 32, 42}, 36 * s},
		{"a_late_heartbeat_is_forgotten_after_eight_intervals", []float64{0, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 30 * s},
		{"short_intervals_stop_at_the_floor", []float64{0, 2, 4, 6}, floor},
		{"long_intervals_stop_at_the_ceiling", []float64{0, 90, 180}, ceiling},
		{"heartbeats_read_together_after_a_slow_handler_teach_nothing", []float64{0, 10, 20, 45, 45.001, 45.002, 45.003, 45.004, 45.005, 45.006, 45.007, 45.008}, 75 * s},
		{"a_reconnect_starts_no_interval", []float64{0, 10, 20, -500, 510}, 30 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h heartbeats
			start := time.Unix(1_700_000_000, 0)
			for _, at := range tt.arrivals {
				if at < 0 {
					h.newStream()
					at = -at
				}
				h.observe(start.Add(time.Duration(at * float64(time.Second))))
			}
			if got := h.stallTimeout(3, floor, ceiling); got != tt.want {
				t.Fatalf("stall timeout %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIsClientCheck(t *testing.T) {
	tests := []struct {
		frame string
		want  bool
	}{
		{`{"ClientCheck":{"heartbeat":"[HEARTBEAT]"}}`, true},
		{` { "ClientCheck" : {}}`, true},
		{`<ClientCheck><heartbeat>[HEARTBEAT]</heartbeat></ClientCheck>`, true},
		{"<?xml version='1.0'  encoding='UTF-8' ?>\n<!-- c --><ClientCheck/>", true},
		{`{"Interaction":{"event":"ClientCheck"}}`, false},
		{`{"ClientChecks":{}}`, false},
		{`<ClientChecks/>`, false},
		{`<?xml version='1.0'`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := isClientCheck([]byte(tt.frame)); got != tt.want {
			t.Errorf("isClientCheck(%q) = %v, want %v", tt.frame, got, tt.want)
		}
	}
}

// The Framer reports each "X" heartbeat, bare or length-prefixed, as soon
// as it is read, and frames the stream as before.
func TestFramer_reports_padding(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   int
		whole  bool // read in one piece rather than a byte at a time
	}{
		{"between_frames", eventA + "\nX\n" + eventB + "\nX", 2, false},
		{"a_run_read_at_once_is_one", eventA + "\n" + strings.Repeat("X", 64) + "\n" + eventB + "\n", 1, true},
		{"length_prefixed", "1|X" + prefixed(eventA) + "1|X", 2, false},
		{"whitespace_is_not_a_heartbeat", strings.Repeat(" ", 2048) + "\n" + eventA + "\n \n", 0, false},
		{"x_inside_an_event_is_not", `{"X":"XX"}` + "\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.stream)
			if !tt.whole {
				r = iotest.OneByteReader(r)
			}
			f := NewFramer(r, FormatNewlineJSON, 0)
			got := 0
			f.onPadding = func() { got++ }
			for {
				if _, err := f.Next(); err != nil {
					break
				}
			}
			if got != tt.want {
				t.Fatalf("%d heartbeats reported, want %d", got, tt.want)
			}
		})
	}
}
