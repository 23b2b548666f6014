package regaldouble_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
)

func TestControl_is_off_unless_configured(t *testing.T) {
	paths := []struct{ method, path string }{
		{http.MethodGet, regaldouble.ControlStatsPath},
		{http.MethodGet, regaldouble.ControlReceivedPath},
		{http.MethodPost, regaldouble.ControlFaultsPath},
		{http.MethodPost, regaldouble.ControlResetPath},
	}
	srv := startConfigured(t, regaldouble.Config{})
	for _, p := range paths {
		if got := do(t, p.method, srv.URL()+p.path, nil, `{}`).status; got != http.StatusNotFound {
			t.Errorf("%s %s = %d, want 404 with Control off", p.method, p.path, got)
		}
	}
}

func TestControl_stats_and_received(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{Control: true})
	post(t, srv, secondKey, validBody)
	post(t, srv, "wrong", validBody)

	resp := do(t, http.MethodGet, srv.URL()+regaldouble.ControlStatsPath, nil, "")
	var st regaldouble.Stats
	if err := json.Unmarshal([]byte(resp.body), &st); err != nil || resp.status != 200 {
		t.Fatalf("stats = %d %s (%v)", resp.status, resp.body, err)
	}
	if st.Requests != 2 || st.Accepted != 1 || st.ClientErrors != 1 || st.ByReason[regaldouble.ReasonUnauthorized] != 1 {
		t.Errorf("stats = %+v, want 2 requests: 1 accepted, 1 unauthorized", st)
	}
	if !strings.Contains(resp.body, `"too_many_requests":0`) || !strings.Contains(resp.body, `"by_reason":{`) {
		t.Errorf("stats JSON %s, want snake_case fields", resp.body)
	}

	resp = do(t, http.MethodGet, srv.URL()+regaldouble.ControlReceivedPath, nil, "")
	var events []regaldouble.ReceivedEvent
	if err := json.Unmarshal([]byte(resp.body), &events); err != nil || resp.status != 200 {
		t.Fatalf("received = %d %s (%v)", resp.status, resp.body, err)
	}
	if len(events) != 1 || events[0].APIKeyIndex != 1 || events[0].At.IsZero() {
		t.Fatalf("received = %+v, want one event from key 1 with its time", events)
	}
	var body map[string]any
	if err := json.Unmarshal(events[0].Body, &body); err != nil || body["name"] != "Interaction Queued" {
		t.Errorf("received body = %s, want the decoded event", events[0].Body)
	}
	if strings.Contains(resp.body, secondKey.Reveal()) || strings.Contains(resp.body, "Authorization") {
		t.Errorf("received %s reveals the key", resp.body)
	}
	if srv.Requests() != 2 {
		t.Errorf("Requests = %d, want 2: control calls are not counted", srv.Requests())
	}
}

func TestControl_faults(t *testing.T) {
	tests := []struct {
		name       string
		update     string
		wantStatus int // of the next POST /events
		wantState  func(regaldouble.FaultsState) bool
	}{
		{name: "error_rate_and_status", update: `{"error_rate":1,"error_status":502}`, wantStatus: 502,
			wantState: func(s regaldouble.FaultsState) bool { return s.ErrorRate == 1 && s.ErrorStatus == 502 }},
		{name: "outage", update: `{"outage":true}`, wantStatus: 503,
			wantState: func(s regaldouble.FaultsState) bool { return s.Outage }},
		{name: "outage_for", update: `{"outage_for":"1m"}`, wantStatus: 503,
			wantState: func(s regaldouble.FaultsState) bool { return s.Outage }},
		{name: "rate_limit_with_burst", update: `{"rate_limit":0.001,"rate_burst":2,"rate_limit_retry_after":"3"}`, wantStatus: 200,
			wantState: func(s regaldouble.FaultsState) bool {
				return s.RateLimit == 0.001 && s.RateBurst == 2 && s.RateLimitRetryAfter == "3"
			}},
		{name: "latency", update: `{"latency":"20ms"}`, wantStatus: 200,
			wantState: func(s regaldouble.FaultsState) bool { return time.Duration(s.Latency) == 20*time.Millisecond }},
		{name: "slow_phones", update: `{"slow_phones":{"+15550000000":"2s"}}`, wantStatus: 200,
			wantState: func(s regaldouble.FaultsState) bool {
				return time.Duration(s.SlowPhones["+15550000000"]) == 2*time.Second
			}},
		{name: "empty_update_changes_nothing", update: `{}`, wantStatus: 200,
			wantState: func(s regaldouble.FaultsState) bool {
				return s.ErrorRate == 0 && s.ErrorStatus == 503 && !s.Outage && s.RateLimit == 0
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{Control: true})
			resp := do(t, http.MethodPost, srv.URL()+regaldouble.ControlFaultsPath, nil, tt.update)
			var state regaldouble.FaultsState
			if err := json.Unmarshal([]byte(resp.body), &state); err != nil || resp.status != 200 {
				t.Fatalf("POST faults = %d %s (%v)", resp.status, resp.body, err)
			}
			if !tt.wantState(state) {
				t.Errorf("state = %s, not the update", resp.body)
			}
			if got := post(t, srv, firstKey, validBody).status; got != tt.wantStatus {
				t.Errorf("next POST /events = %d, want %d", got, tt.wantStatus)
			}
		})
	}
}

func TestControl_faults_rejects_bad_updates_whole(t *testing.T) {
	tests := []struct {
		name   string
		update string
	}{
		{name: "not_json", update: `{"error_rate":`},
		{name: "unknown_field", update: `{"error_rate":0.5,"errors":1}`},
		{name: "error_rate_out_of_range", update: `{"outage":true,"error_rate":1.5}`},
		{name: "error_status_not_5xx", update: `{"error_rate":0.5,"error_status":404}`},
		{name: "duration_not_a_string", update: `{"latency":20}`},
		{name: "duration_unparsable", update: `{"outage":true,"latency":"soon"}`},
		{name: "negative_latency", update: `{"latency":"-1s"}`},
		{name: "negative_rate_limit", update: `{"outage":true,"rate_limit":-5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{Control: true})
			if resp := do(t, http.MethodPost, srv.URL()+regaldouble.ControlFaultsPath, nil, tt.update); resp.status != http.StatusBadRequest {
				t.Errorf("POST faults = %d %s, want 400", resp.status, resp.body)
			}
			if got := post(t, srv, firstKey, validBody).status; got != 200 {
				t.Errorf("POST /events after a rejected update = %d, want 200 (nothing applied)", got)
			}
		})
	}
}

func TestControl_reset(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{Control: true})
	post(t, srv, firstKey, validBody)
	srv.SetOutage(true)
	if resp := do(t, http.MethodPost, srv.URL()+regaldouble.ControlResetPath, nil, ""); resp.status != http.StatusNoContent {
		t.Fatalf("POST reset = %d, want 204", resp.status)
	}
	if srv.Count() != 0 || srv.Stats().Requests != 0 {
		t.Errorf("after reset: Count %d, Requests %d; want 0, 0", srv.Count(), srv.Stats().Requests)
	}
	if got := post(t, srv, firstKey, validBody).status; got != 200 {
		t.Errorf("POST /events after reset = %d, want 200 (outage over)", got)
	}
}
