package regal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestClient_Send_against_regal_double(t *testing.T) {
	tests := []struct {
		name          string
		key           secret.Secret
		faults        []regaldouble.Fault
		configure     func(*regal.Config)
		wantAttempts  int
		wantStatus    int
		wantDelivered bool
		wantOutcome   regal.Outcome // when not delivered
		wantBudget    bool
		wantMinTime   time.Duration
		wantMaxTime   time.Duration
	}{
		{name: "ok_200_is_delivered_at_once", wantAttempts: 1, wantStatus: 200, wantDelivered: true},
		{name: "server_error_then_ok_is_delivered_on_second_attempt",
			faults: []regaldouble.Fault{{Status: 500}}, wantAttempts: 2, wantStatus: 200, wantDelivered: true},
		{name: "bad_gateway_and_unavailable_are_retried",
			faults: []regaldouble.Fault{{Status: 502}, {Status: 503}}, wantAttempts: 3, wantStatus: 200, wantDelivered: true},
		{name: "rate_limited_without_retry_after_uses_backoff",
			faults:       []regaldouble.Fault{{Status: 429}},
			wantAttempts: 2, wantStatus: 200, wantDelivered: true},
		{name: "rate_limited_with_retry_after_seconds_waits_capped_by_max_retry_after",
			faults:       []regaldouble.Fault{{Status: 429, RetryAfter: "30"}},
			wantAttempts: 2, wantStatus: 200, wantDelivered: true,
			wantMinTime: 100 * time.Millisecond, wantMaxTime: 5 * time.Second},
		{name: "rate_limited_with_short_retry_after_date_waits_for_it",
			faults:       []regaldouble.Fault{{Status: 429, RetryAfter: time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)}},
			configure:    func(c *regal.Config) { c.MaxRetryAfter = 150 * time.Millisecond },
			wantAttempts: 2, wantStatus: 200, wantDelivered: true, wantMinTime: 150 * time.Millisecond},
		{name: "bad_request_ends_the_send_after_one_attempt",
			faults: []regaldouble.Fault{{Status: 400}}, wantAttempts: 1, wantStatus: 400, wantOutcome: regal.OutcomeRetryLater},
		{name: "bad_request_naming_the_event_is_dead_lettered",
			faults:       []regaldouble.Fault{{Status: 400, Message: "properties.disposition_code must be a number"}},
			wantAttempts: 1, wantStatus: 400, wantOutcome: regal.OutcomeDeadLetter},
		{name: "wrong_key_is_unauthorized_and_pauses_the_tenant",
			key:          "rk_test_wrong-LEAKCANARY-2",
			wantAttempts: 1, wantStatus: 401, wantOutcome: regal.OutcomePauseTenant},
		{name: "bearer_prefixed_key_is_unauthorized_and_pauses_the_tenant",
			key:          "Bearer " + testKey,
			wantAttempts: 1, wantStatus: 401, wantOutcome: regal.OutcomePauseTenant},
		{name: "forbidden_pauses_the_tenant", faults: []regaldouble.Fault{{Status: 403}}, wantAttempts: 1, wantStatus: 403, wantOutcome: regal.OutcomePauseTenant},
		{name: "not_found_pauses_the_tenant", faults: []regaldouble.Fault{{Status: 404}}, wantAttempts: 1, wantStatus: 404, wantOutcome: regal.OutcomePauseTenant},
		{name: "too_large_is_dead_lettered", faults: []regaldouble.Fault{{Status: 413}}, wantAttempts: 1, wantStatus: 413, wantOutcome: regal.OutcomeDeadLetter},
		{name: "unprocessable_is_dead_lettered", faults: []regaldouble.Fault{{Status: 422}}, wantAttempts: 1, wantStatus: 422, wantOutcome: regal.OutcomeDeadLetter},
		{name: "retry_budget_spent_after_max_attempts",
			faults:       []regaldouble.Fault{{Status: 500}, {Status: 503}, {Status: 500}},
			wantAttempts: 3, wantStatus: 500, wantOutcome: regal.OutcomeRetryLater, wantBudget: true},
		{name: "attempt_timeout_is_retried",
			faults:       []regaldouble.Fault{{Delay: 10 * time.Second}},
			configure:    func(c *regal.Config) { c.Timeout = 500 * time.Millisecond },
			wantAttempts: 2, wantStatus: 200, wantDelivered: true, wantMinTime: 500 * time.Millisecond},
		{name: "every_attempt_timing_out_spends_the_budget",
			faults:       []regaldouble.Fault{{Delay: 10 * time.Second}, {Delay: 10 * time.Second}},
			configure:    func(c *regal.Config) { c.Timeout = 300 * time.Millisecond; c.MaxAttempts = 2 },
			wantAttempts: 2, wantStatus: 0, wantOutcome: regal.OutcomeRetryLater, wantBudget: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			double := startDouble(t)
			double.SetFaults(tt.faults...)
			cfg := fastConfig(double.URL())
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			key := tt.key
			if key == "" {
				key = testKey
			}

			start := time.Now()
			res := newClient(t, cfg).Send(context.Background(), key, sampleEvent())
			elapsed := time.Since(start)

			if res.Attempts != tt.wantAttempts || res.Status != tt.wantStatus {
				t.Errorf("attempts, status = %d, %d; want %d, %d (err %v)", res.Attempts, res.Status, tt.wantAttempts, tt.wantStatus, res.Err)
			}
			if (res.Err == nil) != tt.wantDelivered {
				t.Fatalf("err = %v, want delivered %v", res.Err, tt.wantDelivered)
			}
			want := tt.wantOutcome
			if tt.wantDelivered {
				want = regal.OutcomeDelivered
			}
			if got := regal.Classify(res).Outcome; got != want {
				t.Errorf("Classify(%v) = %v, want %v", res.Err, got, want)
			}
			if got := errors.Is(res.Err, regal.ErrRetryBudgetSpent); got != tt.wantBudget {
				t.Errorf("errors.Is(%v, ErrRetryBudgetSpent) = %v, want %v", res.Err, got, tt.wantBudget)
			}
			if errors.Is(res.Err, context.DeadlineExceeded) || errors.Is(res.Err, context.Canceled) {
				t.Errorf("err = %v matches a context error, but the caller's context is alive", res.Err)
			}
			if tt.wantDelivered && !res.Acknowledged {
				t.Errorf("Acknowledged = false for the double's {\"message\":\"ok\"}")
			}
			if tt.wantMinTime > 0 && elapsed < tt.wantMinTime {
				t.Errorf("Send took %s, want at least %s", elapsed, tt.wantMinTime)
			}
			if tt.wantMaxTime > 0 && elapsed > tt.wantMaxTime {
				t.Errorf("Send took %s, want at most %s", elapsed, tt.wantMaxTime)
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), key.Reveal()) {
				t.Errorf("error %q contains the API key", res.Err)
			}
			wantRecorded := 0
			if tt.wantDelivered {
				wantRecorded = 1
			}
			if got := double.Count(); got != wantRecorded {
				t.Errorf("double recorded %d events, want %d", got, wantRecorded)
			}
			if got := double.Requests(); got != tt.wantAttempts {
				t.Errorf("double saw %d requests, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestClient_Send_status_error_details(t *testing.T) {
	double := startDouble(t)
	double.SetStatusSequence(400)
	res := newClient(t, fastConfig(double.URL())).Send(context.Background(), testKey, sampleEvent())
	var statusErr *regal.StatusError
	if !errors.As(res.Err, &statusErr) {
		t.Fatalf("err = %v, want a *StatusError", res.Err)
	}
	if statusErr.Status != 400 || statusErr.Body != `{"message":"Bad Request"}` {
		t.Errorf("StatusError = %+v, want status 400 and the double's body", statusErr)
	}
}

func TestClient_Send_budget_error_wraps_last_attempt(t *testing.T) {
	double := startDouble(t)
	double.SetStatusSequence(500, 500, 503)
	res := newClient(t, fastConfig(double.URL())).Send(context.Background(), testKey, sampleEvent())
	var statusErr *regal.StatusError
	if !errors.As(res.Err, &statusErr) || statusErr.Status != 503 {
		t.Fatalf("err = %v, want it to wrap the last StatusError (503)", res.Err)
	}
	if !strings.Contains(res.Err.Error(), "retry budget spent after 3 attempts") {
		t.Errorf("err = %q, want it to say the retry budget is spent", res.Err)
	}
}

func TestClient_Send_sends_documented_request(t *testing.T) {
	double := startDouble(t)
	ev := sampleEvent()
	res := newClient(t, fastConfig(double.URL()+"/")).Send(context.Background(), testKey, ev)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := double.Received()
	if len(got) != 1 {
		t.Fatalf("double recorded %d events, want 1", len(got))
	}
	if ct := got[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Body) != string(want) {
		t.Errorf("body = %s, want %s", got[0].Body, want)
	}
	if n := got[0].Event.Properties["campaign_id"]; n != json.Number("61") {
		t.Errorf("campaign_id arrived as %#v, want the JSON number 61", n)
	}
}

func TestClient_Send_retries_resend_the_same_body(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(body))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"message":"ok"}`)
	}))
	defer srv.Close()

	res := newClient(t, fastConfig(srv.URL)).Send(context.Background(), testKey, sampleEvent())
	if res.Err != nil || res.Attempts != 3 {
		t.Fatalf("Send = %+v, want success on attempt 3", res)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, b := range bodies {
		if b == "" || b != bodies[0] {
			t.Errorf("attempt %d sent %q, want the first attempt's body %q", i+1, b, bodies[0])
		}
	}
}

func TestClient_Send_ok_with_unexpected_body_is_delivered_but_not_acknowledged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	}))
	defer srv.Close()
	res := newClient(t, fastConfig(srv.URL)).Send(context.Background(), testKey, sampleEvent())
	if res.Err != nil || res.Attempts != 1 || res.Status != 200 || res.Acknowledged {
		t.Errorf("Send = %+v, want delivered, 1 attempt, status 200, not acknowledged", res)
	}
}

func TestClient_Send_does_not_follow_redirects(t *testing.T) {
	var redirectedTo int
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		redirectedTo++
		mu.Unlock()
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/events", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	res := newClient(t, fastConfig(srv.URL)).Send(context.Background(), testKey, sampleEvent())
	if v := regal.Classify(res); res.Status != http.StatusTemporaryRedirect || v.Class != regal.PauseEndpoint || res.Attempts != 1 {
		t.Errorf("Send = %+v (%+v), want one attempt ending on 307, pausing the tenant", res, v)
	}
	mu.Lock()
	defer mu.Unlock()
	if redirectedTo != 0 {
		t.Errorf("the key was carried to the redirect target %d times", redirectedTo)
	}
}

func TestClient_Send_connection_refused_spends_the_budget(t *testing.T) {
	double := startDouble(t)
	url := double.URL()
	if err := double.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := newClient(t, fastConfig(url)).Send(context.Background(), testKey, sampleEvent())
	if res.Attempts != 3 || res.Status != 0 || !errors.Is(res.Err, regal.ErrRetryBudgetSpent) {
		t.Errorf("Send = %+v, want 3 attempts, no status, retry budget spent", res)
	}
}

func TestClient_Send_context_ends_the_send(t *testing.T) {
	tests := []struct {
		name         string
		faults       []regaldouble.Fault
		cancelAfter  time.Duration
		wantAttempts int
		wantStatus   int
	}{
		{name: "canceled_during_request", faults: []regaldouble.Fault{{Delay: 5 * time.Second}},
			cancelAfter: 50 * time.Millisecond, wantAttempts: 1},
		{name: "canceled_during_retry_wait", faults: []regaldouble.Fault{{Status: 503, RetryAfter: "10"}},
			cancelAfter: 100 * time.Millisecond, wantAttempts: 1, wantStatus: 503},
		{name: "canceled_before_send", cancelAfter: 0, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			double := startDouble(t)
			double.SetFaults(tt.faults...)
			cfg := fastConfig(double.URL())
			cfg.MaxRetryAfter = 30 * time.Second

			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancelAfter == 0 {
				cancel()
			} else {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			defer cancel()

			start := time.Now()
			res := newClient(t, cfg).Send(ctx, testKey, sampleEvent())
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Send took %s after cancel", elapsed)
			}
			if !errors.Is(res.Err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", res.Err)
			}
			if v := regal.Classify(res); v != (regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassStopped}) {
				t.Errorf("Classify(%v) = %+v, want retry later (stopped) for a canceled send", res.Err, v)
			}
			if res.Attempts != tt.wantAttempts || res.Status != tt.wantStatus {
				t.Errorf("attempts, status = %d, %d; want %d, %d", res.Attempts, res.Status, tt.wantAttempts, tt.wantStatus)
			}
		})
	}
}

func TestClient_Send_deadline_exceeded_is_not_permanent(t *testing.T) {
	double := startDouble(t)
	double.SetFaults(regaldouble.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res := newClient(t, fastConfig(double.URL())).Send(ctx, testKey, sampleEvent())
	if v := regal.Classify(res); !errors.Is(res.Err, context.DeadlineExceeded) || v.Class != regal.ClassStopped {
		t.Errorf("err = %v (%+v), want the context's DeadlineExceeded, classed as stopped", res.Err, v)
	}
}

func TestClient_Send_rejects_unsendable_input_without_a_request(t *testing.T) {
	unencodable := sampleEvent()
	unencodable.Properties["score"] = math.Inf(1)
	tests := []struct {
		name string
		key  secret.Secret
		ev   *regal.Event
		want regal.Verdict
	}{
		{name: "empty_key", key: "", ev: sampleEvent(), want: regal.Verdict{Outcome: regal.OutcomePauseTenant, Class: regal.PauseKeyUnusable}},
		{name: "key_with_newline", key: "rk_test\nLEAKCANARY", ev: sampleEvent(), want: regal.Verdict{Outcome: regal.OutcomePauseTenant, Class: regal.PauseKeyUnusable}},
		{name: "key_with_trailing_space", key: "rk_test_LEAKCANARY ", ev: sampleEvent(), want: regal.Verdict{Outcome: regal.OutcomePauseTenant, Class: regal.PauseKeyUnusable}},
		{name: "nil_event", key: testKey, ev: nil, want: regal.Verdict{Outcome: regal.OutcomeDeadLetter, Class: regal.ClassUnencodable}},
		{name: "unencodable_property", key: testKey, ev: unencodable, want: regal.Verdict{Outcome: regal.OutcomeDeadLetter, Class: regal.ClassUnencodable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			double := startDouble(t)
			res := newClient(t, fastConfig(double.URL())).Send(context.Background(), tt.key, tt.ev)
			if v := regal.Classify(res); res.Err == nil || v != tt.want || res.Attempts != 0 {
				t.Errorf("Send = %+v (%+v), want %+v and no attempt", res, v, tt.want)
			}
			if tt.key != "" && strings.Contains(res.Err.Error(), strings.TrimSpace(tt.key.Reveal())) {
				t.Errorf("error %q contains the key", res.Err)
			}
			if double.Requests() != 0 {
				t.Errorf("double saw %d requests, want 0", double.Requests())
			}
		})
	}
}

func TestClient_Send_never_reveals_the_key(t *testing.T) {
	// A misbehaving server that echoes the Authorization header back.
	echo := func(status int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Authorization")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, `{"message":"bad key %s","again":"%s"}`, key, key)
		}))
	}
	permanent, retried := echo(http.StatusBadRequest), echo(http.StatusInternalServerError)
	defer permanent.Close()
	defer retried.Close()

	for _, url := range []string{permanent.URL, retried.URL} {
		res := newClient(t, fastConfig(url)).Send(context.Background(), testKey, sampleEvent())
		if res.Err == nil {
			t.Fatalf("Send to %s succeeded, want an error", url)
		}
		for _, text := range []string{res.Err.Error(), fmt.Sprintf("%+v", res), fmt.Sprintf("%#v", res.Err)} {
			if strings.Contains(text, testKey.Reveal()) {
				t.Errorf("text %q contains the API key", text)
			}
		}
		var statusErr *regal.StatusError
		if !errors.As(res.Err, &statusErr) || !strings.Contains(statusErr.Body, "[redacted]") {
			t.Errorf("StatusError body %q, want the echoed key redacted", statusErr.Body)
		}
	}
}

func TestClient_Send_truncates_error_body(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, strings.Repeat("é", 2000))
	}))
	defer srv.Close()
	res := newClient(t, fastConfig(srv.URL)).Send(context.Background(), testKey, sampleEvent())
	var statusErr *regal.StatusError
	if !errors.As(res.Err, &statusErr) {
		t.Fatalf("err = %v, want a *StatusError", res.Err)
	}
	if len(statusErr.Body) > 512 || len(statusErr.Body) < 500 || !strings.HasPrefix(statusErr.Body, "éé") {
		t.Errorf("body has %d bytes, want the first 512 bytes or just under, cut on a character boundary", len(statusErr.Body))
	}
}

func TestClient_Send_is_safe_for_concurrent_use(t *testing.T) {
	double := startDouble(t)
	double.SetStatusSequence(500, 429, 503)
	client := newClient(t, fastConfig(double.URL()))
	const senders = 32
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			if res := client.Send(context.Background(), testKey, sampleEvent()); res.Err != nil {
				t.Error(res.Err)
			}
		})
	}
	wg.Wait()
	if got := double.Count(); got != senders {
		t.Errorf("double recorded %d events, want %d", got, senders)
	}
}

func TestNewClient_with_caller_http_client(t *testing.T) {
	double := startDouble(t)
	res := regal.NewClient(fastConfig(double.URL()), newHTTPClient(t)).Send(context.Background(), testKey, sampleEvent())
	if res.Err != nil || !res.Acknowledged {
		t.Errorf("Send = %+v, want acknowledged delivery", res)
	}
}

func TestClient_Send_request_headers(t *testing.T) {
	tests := []struct {
		name      string
		userAgent string
		wantUA    string
	}{
		{name: "configured_user_agent", userAgent: "ccbridge-dispatcher/d1", wantUA: "ccbridge-dispatcher/d1"},
		{name: "no_user_agent_leaves_go_default", wantUA: "Go-http-client/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan http.Header, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Clone()
				_, _ = io.WriteString(w, `{"message":"ok"}`)
			}))
			defer srv.Close()
			cfg := fastConfig(srv.URL)
			cfg.UserAgent = tt.userAgent
			if res := newClient(t, cfg).Send(context.Background(), testKey, sampleEvent()); res.Err != nil {
				t.Fatal(res.Err)
			}
			h := <-got
			want := map[string]string{"Authorization": testKey.Reveal(), "Content-Type": "application/json",
				"Accept": "application/json", "User-Agent": tt.wantUA}
			for k, v := range want {
				if vs := h.Values(k); len(vs) != 1 || vs[0] != v {
					t.Errorf("%s = %q, want [%q]", k, vs, v)
				}
			}
		})
	}
}

func TestClient_Send_acknowledgement_bodies(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantAckd bool
	}{
		{name: "documented_body", body: `{"message":"ok"}`, wantAckd: true},
		{name: "documented_body_with_newline", body: "{\"message\":\"ok\"}\n", wantAckd: true},
		{name: "spaced_json", body: `{ "message" : "ok" }`, wantAckd: true},
		{name: "extra_field", body: `{"message":"ok","requestId":"r1"}`, wantAckd: true},
		{name: "other_message", body: `{"message":"OK"}`, wantAckd: false},
		{name: "other_shape", body: `{"status":"accepted"}`, wantAckd: false},
		{name: "empty", body: ``, wantAckd: false},
		{name: "not_json", body: `ok`, wantAckd: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			res := newClient(t, fastConfig(srv.URL)).Send(context.Background(), testKey, sampleEvent())
			if res.Err != nil || res.Status != 200 || res.Acknowledged != tt.wantAckd {
				t.Errorf("Send = %+v, want delivered with Acknowledged = %v", res, tt.wantAckd)
			}
		})
	}
}
