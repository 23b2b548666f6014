package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/doubles/sapidouble"
)

// Report is the result of a run.
type Report struct {
	Seed     int64     `json:"seed"`
	Dir      string    `json:"dir"`
	Started  time.Time `json:"started"`
	Duration Duration  `json:"duration"`

	// Calls scripted, Interactions among them, SAPIEvents published once
	// each, PublishedLines with the RepeatedLines.
	Calls          int `json:"calls"`
	Interactions   int `json:"interactions"`
	SAPIEvents     int `json:"sapi_events"`
	PublishedLines int `json:"published_lines"`
	RepeatedLines  int `json:"repeated_lines"`

	// Settled is false when the bridge still held unsettled events at the
	// settle timeout.
	Settled bool    `json:"settled"`
	Outcome Outcome `json:"outcome"`

	Faults          []FaultRecord     `json:"faults"`
	FaultCounts     map[FaultKind]int `json:"fault_counts"`
	UnexpectedExits []ProcessExit     `json:"unexpected_exits"`

	Delivery Delivery               `json:"delivery"`
	Regal    regaldouble.Stats      `json:"regal"`
	SAPI     sapidouble.TenantStats `json:"sapi"`
}

// Failed reports whether the run disproves a guarantee: an event lost, an
// interaction out of order, an event Regal should never have received, or
// a bridge that never settled.
func (r *Report) Failed() bool {
	o := r.Outcome
	return o.Lost > 0 || o.OrderViolations > 0 || o.Unexpected > 0 || !r.Settled
}

// countFaults tallies the injected faults by kind.
func countFaults(faults []FaultRecord) map[FaultKind]int {
	counts := map[FaultKind]int{}
	for _, f := range faults {
		if f.Error == "" {
			counts[f.Kind]++
		}
	}
	return counts
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	o := r.Outcome
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("chaos run %s (seed %d, %s, run directory %s)", verdict, r.Seed, r.Duration, r.Dir)
	p("  scenario:        %d calls, %d interactions, %d SAPI events, %d lines published (%d repeated)",
		r.Calls, r.Interactions, r.SAPIEvents, r.PublishedLines, r.RepeatedLines)
	p("  settled:         %t", r.Settled)
	p("  expected:        %d", o.Expected)
	p("  delivered:       %d", o.Delivered)
	p("  lost:            %d", o.Lost)
	p("  dead-lettered:   %d expected events (%d dead-letter entries)", o.DeadLettered, o.DeadLetterEntries)
	p("  duplicated:      %d extra copies of %d events", o.Duplicates, o.DuplicatedEvents)
	p("    explained:     %d by a dispatcher kill, %d by a collector kill (kill at most %s after the copy); unexplained %d; all explained: %t",
		o.ExplainedByDispatcherKill, o.ExplainedByCollectorKill, time.Duration(o.LongestKillLag).Round(time.Millisecond),
		o.UnexplainedDuplicates, o.AllDuplicatesExplained)
	p("    windows:       %d kills hit a delivery between Regal's 200 and its settlement; "+
		"kills while Regal was accepting events: %d of %d dispatcher kills, %d of %d collector kills",
		o.DuplicateWindows, o.DispatcherKillsWhileDelivering, r.FaultCounts[FaultDispatcherKill],
		o.CollectorKillsWhileDelivering, r.FaultCounts[FaultCollectorKill])
	p("  order violations: %d (in %d interactions)", o.OrderViolations, o.InteractionsOutOfOrder)
	p("  unexpected:      %d events at Regal not in the ground truth", o.Unexpected)
	p("  Regal:           %d requests, %d accepted, %d 429, %d 5xx", r.Regal.Requests, r.Regal.Accepted,
		r.Regal.TooManyRequests, r.Regal.ServerErrors)
	p("  SAPI double:     %d events published, %d written to streams (replays included)", r.SAPI.Published, r.SAPI.Written)
	p("  faults:          %s", faultSummary(r.FaultCounts))
	for _, f := range r.Faults {
		line := fmt.Sprintf("    %8s  %-16s %-13s", Duration(time.Duration(f.At).Round(time.Millisecond)), f.Kind, f.Target)
		if f.Down > 0 {
			line += " down " + time.Duration(f.Down).String()
		}
		if f.Detail != "" {
			line += " (" + f.Detail + ")"
		}
		if f.Error != "" {
			line += " FAILED: " + f.Error
		}
		p("%s", strings.TrimRight(line, " "))
	}
	for _, e := range r.UnexpectedExits {
		p("  unexpected exit: %s at %s: %s", e.Process, e.Time.Format(time.TimeOnly), e.Status)
	}
	for _, status := range slices.Sorted(maps.Keys(o.DeadLettersByStatus)) {
		p("  dead letters:    %d with last Regal status %s, e.g. %s", o.DeadLettersByStatus[status], status, o.DeadLetterReasons[status])
	}
	examples := func(title string, list []string) {
		for _, e := range list {
			p("  %s %s", title, e)
		}
	}
	examples("lost:", o.LostExamples)
	examples("out of order:", o.OrderExamples)
	examples("unexplained duplicate:", o.UnexplainedExamples)
	examples("unexpected:", o.UnexpectedExamples)
	d := r.Delivery
	p("  delivery config: dispatcher.regal max_attempts %d, backoff %s..%s, timeout %s, rate limit %g/s (burst %d); "+
		"collector.scheduler retry %s..%s, max_attempts %d, max_retry_age %s; max_in_flight %d, prefetch %d; stream_max_age %s",
		d.RegalMaxAttempts, d.RegalBackoffInitial, d.RegalBackoffMax, d.RegalTimeout, d.RegalRateLimit, d.RegalRateBurst,
		d.SchedulerRetryDelayMin, d.SchedulerRetryDelayMax, d.SchedulerMaxAttempts, d.SchedulerMaxRetryAge,
		d.MaxInFlight, d.Prefetch, d.StreamMaxAge)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func faultSummary(counts map[FaultKind]int) string {
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s×%d", kind, counts[kind]))
	}
	return strings.Join(parts, ", ")
}

// Duration is a time.Duration written in JSON as a string such as "1.5s".
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// MarshalJSON writes the durations of the delivery tuning as strings.
func (d Delivery) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"scheduler_retry_delay_min": d.SchedulerRetryDelayMin.String(),
		"scheduler_retry_delay_max": d.SchedulerRetryDelayMax.String(),
		"scheduler_max_attempts":    d.SchedulerMaxAttempts,
		"scheduler_max_retry_age":   d.SchedulerMaxRetryAge.String(),
		"regal_max_attempts":        d.RegalMaxAttempts,
		"regal_backoff_initial":     d.RegalBackoffInitial.String(),
		"regal_backoff_max":         d.RegalBackoffMax.String(),
		"regal_timeout":             d.RegalTimeout.String(),
		"regal_rate_limit":          d.RegalRateLimit,
		"regal_rate_burst":          d.RegalRateBurst,
		"max_in_flight":             d.MaxInFlight,
		"prefetch":                  d.Prefetch,
		"stream_max_age":            d.StreamMaxAge.String(),
	})
}
