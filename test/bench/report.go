package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one bench run's result. Its JSON form is meant to be kept
// and compared between commits.
type Report struct {
	Started time.Time `json:"started"`
	Dir     string    `json:"dir"`
	Setup   Setup     `json:"setup"`
	Host    Host      `json:"host"`
	Flow    Flow      `json:"flow"`
	Latency Latency   `json:"latency"`
	// Stages splits Latency where the services measure it.
	Stages Stages         `json:"stages"`
	Usage  []ProcessUsage `json:"processes"`
	Redis  RedisUse       `json:"redis"`
	// Timeline is what the collector's timeline writer recorded.
	Timeline TimelineUse `json:"timeline"`
	Ceiling  Ceiling     `json:"ceiling"`
	// RSSTrend is each process's RSS after warm-up, from the progress
	// samples (runs with -progress only).
	RSSTrend []RSSTrend `json:"rss_trend,omitempty"`
	// Ratio is end-to-end Regal events per second over the ceiling's
	// accepted requests per second.
	Ratio float64 `json:"ratio_end_to_end_to_ceiling"`
	// UnexpectedExits lists children that exited on their own.
	UnexpectedExits []string `json:"unexpected_exits,omitempty"`
}

// Setup is the run's options.
type Setup struct {
	Events         int      `json:"events"`
	Rate           float64  `json:"rate"` // lines/s; 0 = full speed
	Dispatchers    int      `json:"dispatchers"`
	MaxInFlight    int      `json:"max_in_flight"` // per dispatcher
	Prefetch       int      `json:"prefetch"`      // per dispatcher, sent ahead of MaxInFlight
	RegalLatencyMS float64  `json:"regal_latency_ms"`
	RedisFsync     string   `json:"redis_appendfsync"`
	TimelineRedis  bool     `json:"timeline_redis"` // the timeline in a Redis of its own
	BridgeEnv      []string `json:"bridge_env,omitempty"`
	GOMAXPROCS     int      `json:"gomaxprocs"` // every child's; 0 = Go's default
	Tracing        bool     `json:"tracing"`
	Seed           int64    `json:"seed"`
	// The collector was stopped for StallCollectorForS seconds (0: not at
	// all, also when the stall was due after the run),
	// StallCollectorAtS after the first publish.
	StallCollectorAtS  float64 `json:"stall_collector_at_s,omitempty"`
	StallCollectorForS float64 `json:"stall_collector_for_s,omitempty"`
}

// Host is the machine the run used.
type Host struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	// LoadBefore and LoadAfter are the one-minute load average when the
	// load started and when Regal had everything: above CPUs, other work
	// competed with the run and its numbers are noisy.
	LoadBefore float64 `json:"load_average_before"`
	LoadAfter  float64 `json:"load_average_after"`
}

// Flow is what went through the bridge.
type Flow struct {
	// SAPILines were published; RegalExpected of them must reach Regal.
	SAPILines     int `json:"sapi_lines"`
	RegalExpected int `json:"regal_expected"`
	// RegalDelivered is the expected events Regal accepted at least once;
	// Duplicates the extra copies; Unknown the accepted requests that
	// match no published line.
	RegalDelivered int `json:"regal_delivered"`
	Duplicates     int `json:"duplicates"`
	Unknown        int `json:"unknown"`
	// PublishSeconds is from the first publish request to the last;
	// Seconds from the first publish request to the last 200.
	PublishSeconds     float64 `json:"publish_seconds"`
	Seconds            float64 `json:"seconds"`
	RegalEventsPerSec  float64 `json:"regal_events_per_second"`
	SAPILinesPerSecond float64 `json:"sapi_lines_per_second"`

	// Lost is the expected events Regal never accepted.
	Lost int `json:"lost"`
}

// RedisUse is Redis's work during the measured interval.
type RedisUse struct {
	Commands      int64   `json:"commands"`
	PerRegalEvent float64 `json:"commands_per_regal_event"`
	PerSAPILine   float64 `json:"commands_per_sapi_line"`
}

// WriteJSON writes the report, indented, to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteText writes the report for a reader.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	s, f := r.Setup, r.Flow
	rate := "full speed"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g lines/s", s.Rate)
	}
	fmt.Fprintf(&b, "bench %s  (%d CPUs, load average %.1f → %.1f, %s)  dir %s\n", r.Started.UTC().Format(time.RFC3339),
		r.Host.CPUs, r.Host.LoadBefore, r.Host.LoadAfter, r.Host.GoVersion, r.Dir)
	timelineAt := "in the one Redis"
	if s.TimelineRedis {
		timelineAt = "in its own Redis (everysec)"
	}
	procs := "Go's default"
	if s.GOMAXPROCS > 0 {
		procs = strconv.Itoa(s.GOMAXPROCS)
	}
	fmt.Fprintf(&b, "setup        %d SAPI lines at %s, %d dispatchers × %d in flight (+%d ahead), Regal latency %gms, Redis appendfsync %s, timeline %s, tracing %s, GOMAXPROCS %s, seed %d\n",
		s.Events, rate, s.Dispatchers, s.MaxInFlight, s.Prefetch, s.RegalLatencyMS, s.RedisFsync, timelineAt, onOff(s.Tracing), procs, s.Seed)
	if len(s.BridgeEnv) > 0 {
		fmt.Fprintf(&b, "bridge env   %s\n", strings.Join(s.BridgeEnv, " "))
	}
	if s.StallCollectorForS > 0 {
		fmt.Fprintf(&b, "stall        the collector stopped for %gs, %gs after the first publish\n", s.StallCollectorForS, s.StallCollectorAtS)
	}
	fmt.Fprintf(&b, "flow         %d lines → %d Regal events expected, %d delivered, %d lost, %d duplicates, %d unknown, in %.2fs (published in %.2fs)\n",
		f.SAPILines, f.RegalExpected, f.RegalDelivered, f.Lost, f.Duplicates, f.Unknown, f.Seconds, f.PublishSeconds)
	fmt.Fprintf(&b, "end to end   %.0f Regal events/s  (%.0f SAPI lines/s)\n", f.RegalEventsPerSec, f.SAPILinesPerSecond)
	fmt.Fprintf(&b, "ceiling      %.0f Regal requests/s  (%d in flight, %.1fs, %d accepted, %d failed)\n",
		r.Ceiling.AcceptedPerSec, r.Ceiling.Concurrency, r.Ceiling.Seconds, r.Ceiling.Accepted, r.Ceiling.Failed)
	fmt.Fprintf(&b, "ratio        %.3f  (end to end / ceiling)\n", r.Ratio)
	l := r.Latency
	from := "handed over" // full speed: to the SAPI double, in chunks
	if s.Rate > 0 {
		from = "due" // paced: the double writes each line when it is due
	}
	fmt.Fprintf(&b, "latency      SAPI line %s → Regal request arrived, %d samples: p50 %.1fms  p99 %.1fms  p99.9 %.1fms  max %.1fms  (%d over %s)\n",
		from, l.Samples, l.P50, l.P99, l.P999, l.Max, l.Over, staleAfter)
	fmt.Fprintf(&b, "stages       %s\n", r.Stages.text())
	fmt.Fprintf(&b, "redis        %d commands: %.2f per Regal event, %.2f per SAPI line\n",
		r.Redis.Commands, r.Redis.PerRegalEvent, r.Redis.PerSAPILine)
	tl := r.Timeline
	drained := ""
	if !tl.Drained {
		drained = fmt.Sprintf(" (still writing after %s)", timelineDrainWait)
	}
	fmt.Fprintf(&b, "timeline     %d changes recorded, %d dropped (writer's queue full), %d failed%s\n",
		tl.Recorded, tl.Dropped, tl.Failed, drained)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "process\tCPU s\tCPU s / 1,000 events\tpeak RSS MB\t")
	for _, u := range r.Usage {
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%.1f\t\n", u.Name, u.CPUSeconds, u.CPUSecondsPer1000, float64(u.PeakRSSBytes)/(1<<20))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "bridge peak  %s\n", r.bridgePeaks())
	if len(r.RSSTrend) > 0 {
		fmt.Fprintf(&b, "rss trend    from the sample at %s (warm) to the last one\n", time.Duration(r.RSSTrend[0].WarmAt*float64(time.Second)).Round(time.Second))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "process\twarm MB\tlast MB\tchange\tmin MB\tmax MB\t")
		for _, t := range r.RSSTrend {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%+.1f%%\t%.1f\t%.1f\t\n", t.Name, t.WarmMB, t.LastMB, t.ChangePct, t.MinMB, t.MaxMB)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, e := range r.UnexpectedExits {
		fmt.Fprintf(&b, "unexpected exit: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bridgePeaks is the peak RSS of each of the bridge's own processes (the
// collector and the dispatchers; not Redis nor the doubles), the largest
// first named.
func (r *Report) bridgePeaks() string {
	var parts []string
	var largest ProcessUsage
	for _, u := range r.Usage {
		if u.Name != "collector" && !strings.HasPrefix(u.Name, "dispatcher") {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", u.Name, float64(u.PeakRSSBytes)/(1<<20)))
		if u.PeakRSSBytes > largest.PeakRSSBytes {
			largest = u
		}
	}
	if len(parts) == 0 {
		return "none measured"
	}
	return fmt.Sprintf("%s  (largest: %s)", strings.Join(parts, ", "), largest.Name)
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
