package sapidouble

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/internal/poll"
)

// control sends a control request and returns the status and body.
func control(t *testing.T, s *Server, method, path, body string) (int, string) {
	t.Helper()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func controlStats(t *testing.T, s *Server) Stats {
	t.Helper()
	status, body := control(t, s, http.MethodGet, "/_double/stats", "")
	if status != http.StatusOK {
		t.Fatalf("GET /_double/stats: HTTP %d %s", status, body)
	}
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("stats %s: %v", body, err)
	}
	return st
}

func withControl(c *Config) { c.Control = true }

func TestControl_is_off_unless_configured(t *testing.T) {
	s := startDouble(t, nil)
	for _, path := range []string{"/_double/stats", "/_double/publish?tenant=" + tenant} {
		if status, _ := control(t, s, http.MethodPost, path, ""); status != http.StatusNotFound {
			t.Errorf("POST %s without Control: HTTP %d, want 404", path, status)
		}
	}
}

func TestControl_publish_streams_the_lines_in_order(t *testing.T) {
	s := startDouble(t, withControl)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)

	body := string(event("InteractionCreated", 1)) + "\n\n" + string(event("InteractionQueued", 2)) + "\r\n" +
		string(event("InteractionAssigned", 3))
	status, answer := control(t, s, http.MethodPost, "/_double/publish?tenant="+tenant, body)
	if status != http.StatusOK || answer != `{"published":3}` {
		t.Fatalf("publish: HTTP %d %s", status, answer)
	}
	for _, name := range []string{"InteractionCreated", "InteractionQueued", "InteractionAssigned"} {
		if got := sub.nextEvent(t); !strings.Contains(got, `"event":"`+name+`"`) || !strings.Contains(got, `"msgInfo":{`) {
			t.Fatalf("got %s, want a stamped %s", got, name)
		}
	}
	// A batch is counted once its write returned, which may be after the
	// client read it.
	poll.Until(t, "3 events written", func() bool { return controlStats(t, s).Written >= 3 })
	st := controlStats(t, s)
	want := TenantStats{Subscribers: 1, Published: 3, Written: 3}
	if st.Tenants[tenant] != want || st.Published != 3 || st.Written != 3 || st.Buffered != 0 {
		t.Errorf("stats = %+v, want %+v for %s", st, want, tenant)
	}
}

// TestControl_paced_publish_writes_each_line_when_due hands over three
// paced lines and then one to send at once: no line leaves before it is
// due, and the immediate one waits behind them (order is kept).
func TestControl_paced_publish_writes_each_line_when_due(t *testing.T) {
	s := startDouble(t, withControl)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)

	const interval = 40 * time.Millisecond
	first := time.Now().Add(100 * time.Millisecond)
	paced := []string{"InteractionCreated", "InteractionQueued", "InteractionAssigned"}
	var body []string
	for i, name := range paced {
		body = append(body, string(event(name, i+1)))
	}
	path := "/_double/publish?tenant=" + tenant + "&first=" + url.QueryEscape(first.Format(time.RFC3339Nano)) + "&interval=" + interval.String()
	if status, answer := control(t, s, http.MethodPost, path, strings.Join(body, "\n")); status != http.StatusOK || answer != `{"published":3}` {
		t.Fatalf("paced publish: HTTP %d %s", status, answer)
	}
	if status, answer := control(t, s, http.MethodPost, "/_double/publish?tenant="+tenant, string(event("InteractionAccepted", 4))); status != http.StatusOK {
		t.Fatalf("publish: HTTP %d %s", status, answer)
	}
	want := append(paced, "InteractionAccepted")
	for i, name := range want {
		got := sub.nextEvent(t)
		arrived := time.Now()
		if !strings.Contains(got, `"event":"`+name+`"`) {
			t.Fatalf("event %d = %s, want %s", i, got, name)
		}
		due := first.Add(time.Duration(min(i, len(paced)-1)) * interval)
		if arrived.Before(due) {
			t.Errorf("%s arrived %s before it was due", name, due.Sub(arrived))
		}
	}
}

func TestControl_rejects_bad_requests_without_publishing(t *testing.T) {
	s := startDouble(t, withControl)
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"missing_tenant", http.MethodPost, "/_double/publish", string(event("InteractionCreated", 1)), http.StatusBadRequest},
		{"unknown_tenant", http.MethodPost, "/_double/publish?tenant=nobody", string(event("InteractionCreated", 1)), http.StatusNotFound},
		{"one_bad_line", http.MethodPost, "/_double/publish?tenant=" + tenant, string(event("InteractionCreated", 1)) + "\n[1]", http.StatusBadRequest},
		{"cut_unknown_tenant", http.MethodPost, "/_double/cut?tenant=nobody", "", http.StatusNotFound},
		{"failover_without_tenant", http.MethodPost, "/_double/failover", "", http.StatusBadRequest},
		{"replay_last_not_a_number", http.MethodPost, "/_double/replay-last?n=many", "", http.StatusBadRequest},
		{"replay_last_negative", http.MethodPost, "/_double/replay-last?n=-1", "", http.StatusBadRequest},
		{"publish_with_get", http.MethodGet, "/_double/publish?tenant=" + tenant, "", http.StatusMethodNotAllowed},
		{"paced_first_not_a_time", http.MethodPost, "/_double/publish?tenant=" + tenant + "&first=soon&interval=1ms", string(event("InteractionCreated", 1)), http.StatusBadRequest},
		{"paced_interval_without_first", http.MethodPost, "/_double/publish?tenant=" + tenant + "&interval=1ms", string(event("InteractionCreated", 1)), http.StatusBadRequest},
		{"paced_negative_interval", http.MethodPost, "/_double/publish?tenant=" + tenant + "&first=2026-01-02T03:04:05Z&interval=-1ms", string(event("InteractionCreated", 1)), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := control(t, s, tt.method, tt.path, tt.body); status != tt.want {
				t.Errorf("HTTP %d %s, want %d", status, body, tt.want)
			}
		})
	}
	if st := controlStats(t, s); st.Published != 0 {
		t.Errorf("published %d events from rejected requests", st.Published)
	}
}

// TestControl_cut_failover_and_replay drives a subscription through a cut
// with replay and a failover over HTTP only.
func TestControl_cut_failover_and_replay(t *testing.T) {
	s := startDouble(t, withControl)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	post := func(path, body string) {
		t.Helper()
		if status, answer := control(t, s, http.MethodPost, path, body); status/100 != 2 {
			t.Fatalf("POST %s: HTTP %d %s", path, status, answer)
		}
	}
	post("/_double/publish?tenant="+tenant, string(event("InteractionCreated", 1))+"\n"+string(event("InteractionQueued", 2)))
	sub.nextEvent(t)
	last := sub.nextEvent(t)
	_, firstInstance, _ := decode(t, last)

	post("/_double/replay-last?n=1", "")
	post("/_double/cut?tenant="+tenant, "")
	if err := sub.waitEnd(t); err != nil {
		t.Fatalf("cut: stream ended with %v, want a clean end", err)
	}
	post("/_double/failover?tenant="+tenant, "")
	post("/_double/publish?tenant="+tenant, string(event("InteractionAssigned", 3)))
	if st := controlStats(t, s).Tenants[tenant]; st.Subscribers != 0 || st.Buffered != 1 {
		t.Errorf("after the cut: %+v, want no subscriber and 1 buffered event", st)
	}

	sub = subscribe(t, s, "regal", "NEWLINE_JSON")
	if got := sub.nextEvent(t); got != last {
		t.Fatalf("replayed %s, want the last delivery %s", got, last)
	}
	assigned := sub.nextEvent(t)
	_, instance, seq := decode(t, assigned)
	if !strings.Contains(assigned, "InteractionAssigned") || instance == firstInstance || seq != 1 {
		t.Errorf("after failover got %s (instance %s, sequence %d), want a new instance counting from 1", assigned, instance, seq)
	}
	poll.Until(t, "4 events written", func() bool { return controlStats(t, s).Written >= 4 }) // counted after the write returned
	if st := controlStats(t, s).Tenants[tenant]; st != (TenantStats{Subscribers: 1, Published: 3, Written: 4}) {
		t.Errorf("stats = %+v, want 3 published and 4 written (one replay)", st)
	}
}
