package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/jaegertest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/test/promtext"
	"github.com/ccbridge/bridge/test/stack"
)

// syncBuffer collects the services' logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const (
	sapiToken   = "sapi-token-7d1f0e55c2"
	regalKey    = "regal-key-99a0c3b7e4"
	crmPassword = "crm-password-4be21c"
)

// tracedStack runs the bridge exporting traces to a real Jaeger, with every
// log line captured.
func tracedStack(t *testing.T, j *jaegertest.Jaeger, logs io.Writer) *stack.Stack {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPEndpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return startStack(t, stack.Options{Dispatchers: 2, SAPIToken: sapiToken, RegalKey: regalKey, Logger: logger,
		Mutate: func(c *config.Config) {
			c.Tenants[0].CRM = config.TenantCRM{Username: "crm-user", Password: crmPassword}
		}})
}

// TestOneTracePerInteractionAcrossServicesRetriesAndRestart follows one
// scripted call in Jaeger: a single trace, found by the interaction id tag,
// holding the collector's and the dispatchers' spans for every mapped
// event, a Regal attempt that failed and the one that succeeded; the
// collector is restarted mid-call and the later events stay in that trace.
// It also checks that no secret or raw phone number reached a log or a span.
func TestOneTracePerInteractionAcrossServicesRetriesAndRestart(t *testing.T) {
	j := jaegertest.Start(t)
	logs := &syncBuffer{}
	s := tracedStack(t, j, logs)
	call := scriptedFlows()[1] // outbound campaign, answered
	half := len(call.Events) / 2

	s.Regal.SetStatusSequence(503) // the first Regal request fails once, then is retried
	if err := s.SAPI.Publish(tenant, call.Events[:half]...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Regal.WaitCount(ctx, len(expect(t, call.Events[:half]))); err != nil {
		t.Fatal(err)
	}
	stopCollector(ctx, t, s)
	if err := s.SAPI.Publish(tenant, call.Events[half:]...); err != nil {
		t.Fatal(err)
	}
	if err := s.StartCollector(ctx); err != nil {
		t.Fatal(err)
	}
	want := expect(t, call.Events)
	waitRegal(t, s, len(want))

	tags := map[string]string{"cc.interaction_id": call.InteractionID}
	complete := func(traces []jaegertest.Trace) bool {
		n := 0
		for _, tr := range traces {
			for _, sp := range tr.Spans {
				if strings.HasPrefix(sp.OperationName, "dispatcher.process") {
					n++
				}
			}
		}
		return n >= len(want)
	}
	traces, err := j.WaitForTrace(ctx, "dispatcher", tags, complete)
	if err != nil {
		t.Fatalf("dispatcher spans of the call did not all reach Jaeger: %v", err)
	}
	if len(traces) != 1 {
		t.Fatalf("found %d traces for interaction %s, want one", len(traces), call.InteractionID)
	}
	tr, err := j.GetTrace(ctx, traces[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	byCollector, err := j.FindTraces(ctx, "collector", tags)
	if err != nil || len(byCollector) != 1 || byCollector[0].TraceID != tr.TraceID {
		t.Fatalf("collector spans: %d traces (%v); want the same single trace", len(byCollector), err)
	}

	received := map[string]int{} // SAPI event type → collector receive spans
	processed := map[string]int{}
	var failed, succeeded int
	for _, sp := range tr.Spans {
		if sp.Tags["cc.interaction_id"] != call.InteractionID && sp.OperationName != "POST /events" {
			t.Errorf("span %s lacks the interaction id tag", sp.OperationName)
		}
		et, _ := sp.Tags["cc.event_type"].(string)
		switch {
		case strings.HasPrefix(sp.OperationName, "sapi.receive") && sp.ServiceName == "collector":
			received[et]++
		case strings.HasPrefix(sp.OperationName, "dispatcher.process") && sp.ServiceName == "dispatcher":
			processed[et]++
		case sp.OperationName == "regal.attempt":
			switch sp.Tags["regal.status_code"] {
			case int64(503):
				failed++
				if sp.Tags["error"] != true {
					t.Errorf("failed attempt not marked as an error: %v", sp.Tags)
				}
			case int64(200):
				succeeded++
			}
		}
	}
	for _, e := range want {
		if received[e.event] == 0 || processed[e.event] == 0 {
			t.Errorf("%s: %d collector and %d dispatcher spans in the trace, want both", e.event, received[e.event], processed[e.event])
		}
	}
	if failed != 1 || succeeded < len(want) {
		t.Errorf("Regal attempt spans: %d failed (want 1), %d succeeded (want >= %d)", failed, succeeded, len(want))
	}

	// Nothing secret, and no phone in clear, in any log line or span.
	var all []jaegertest.Trace
	for _, svc := range []string{"collector", "dispatcher"} {
		ts, err := j.FindTraces(ctx, svc, nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ts...)
	}
	spansJSON, _ := json.Marshal(all)
	phone := strings.TrimPrefix(call.Phone, "+1")
	for _, where := range []struct{ name, text string }{{"logs", logs.String()}, {"spans", string(spansJSON)}} {
		if where.text == "" {
			t.Fatalf("no %s captured", where.name)
		}
		for _, secret := range []string{sapiToken, regalKey, crmPassword, call.Phone, phone} {
			if strings.Contains(where.text, secret) {
				t.Errorf("%s contain %q", where.name, secret)
			}
		}
	}
	if !strings.Contains(logs.String(), `"trace_id"`) {
		t.Errorf("no log line carries a trace_id")
	}
}

// scrapeUntil scrapes url until done says the page is complete, or 10 s
// passed (the last page is returned either way, for the checks to report).
func scrapeUntil(t *testing.T, url string, done func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	var m map[string]float64
	poll.Wait(10*time.Second, func() bool { m = scrape(t, url); return done(m) })
	return m
}

// scrape reads a service's Prometheus endpoint into name{labels} → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, err := promtext.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sum adds the series of a metric whose labels contain every given pair.
var sum = promtext.Sum

// TestMetricsMatchWhatTheDoublesSaw scrapes /metrics of the collector and
// both dispatchers after a run and compares the counters with what the SAPI
// stream carried and what the Regal double recorded.
func TestMetricsMatchWhatTheDoublesSaw(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2})
	calls := scriptedFlows()
	events := scenario.Interleave(calls, 7)
	want := expect(t, events)
	stream, repeats := withRepeats(events)
	s.Regal.SetStatusSequence(503, 429)
	if err := s.SAPI.Publish(tenant, stream...); err != nil {
		t.Fatal(err)
	}
	got := waitRegal(t, s, len(want))

	// Regal has every event before the collector has settled the last
	// acknowledgements (a Redis write later): wait for those counters.
	col := scrapeUntil(t, "http://"+s.Metrics["collector"].Addr(), func(m map[string]float64) bool {
		return sum(m, "ccb_collector_deliveries_settled_total", `outcome="delivered"`) >= float64(len(got)) &&
			sum(m, "ccb_collector_backlog") == 0
	})
	checks := []struct {
		name      string
		got, want float64
	}{
		{"events received", sum(col, "ccb_collector_events_received_total"), float64(len(stream))},
		{"duplicates", sum(col, "ccb_collector_events_duplicates_total"), float64(repeats)},
		{"admitted", sum(col, "ccb_collector_events_admitted_total"), float64(len(events))},
		{"settled as delivered", sum(col, "ccb_collector_deliveries_settled_total", `outcome="delivered"`), float64(len(got))},
		{"malformed", sum(col, "ccb_collector_frames_malformed_total"), 0},
		{"backlog", sum(col, "ccb_collector_backlog"), 0},
		{"timeline changes dropped", sum(col, "ccb_collector_timeline_changes_total", `result="dropped"`), 0},
		{"timeline changes failed", sum(col, "ccb_collector_timeline_changes_total", `result="failed"`), 0},
		{"sapi connected", sum(col, "ccb_collector_sapi_connected"), 1},
		{"events timed when stored", sum(col, "ccb_collector_event_wait_seconds_count", `stage="admitted"`), float64(len(events))},
		{"events timed when first sent", sum(col, "ccb_collector_event_wait_seconds_count", `stage="sent"`), float64(len(events))},
	}
	var delivered, ok200, r503, r429, retries, latencyCount, aged float64
	for _, d := range s.Dispatchers {
		m := scrape(t, "http://"+s.Metrics[d.ID()].Addr())
		delivered += sum(m, "ccb_dispatcher_deliveries_total", `outcome="delivered"`)
		ok200 += sum(m, "ccb_regal_responses_total", `status_code="200"`)
		r503 += sum(m, "ccb_regal_responses_total", `status_code="503"`)
		r429 += sum(m, "ccb_regal_responses_total", `status_code="429"`)
		retries += sum(m, "ccb_regal_retries_total")
		latencyCount += sum(m, "ccb_regal_request_duration_seconds_count")
		aged += sum(m, "ccb_dispatcher_event_age_seconds_count", `redelivery="false"`)
	}
	checks = append(checks,
		struct {
			name      string
			got, want float64
		}{"dispatcher deliveries", delivered, float64(s.Regal.Count())},
		struct {
			name      string
			got, want float64
		}{"regal 200s", ok200, float64(s.Regal.Count())},
		struct {
			name      string
			got, want float64
		}{"regal 503s", r503, 1},
		struct {
			name      string
			got, want float64
		}{"regal 429s", r429, 1},
		struct {
			name      string
			got, want float64
		}{"regal retries", retries, 2},
		struct {
			name      string
			got, want float64
		}{"regal latency observations", latencyCount, float64(s.Regal.Count() + 2)},
		struct {
			name      string
			got, want float64
		}{"events aged at their first Regal request", aged, float64(s.Regal.Count())},
	)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: metrics say %v, the doubles saw %v", c.name, c.got, c.want)
		}
	}
	// The timeline writes behind delivery; its counter exists (the dropped
	// check above is not vacuous) once it recorded something.
	if n := sum(col, "ccb_collector_timeline_changes_total", `result="recorded"`); n == 0 {
		t.Errorf("timeline changes recorded: metrics say 0 after %d events", len(events))
	}
}
