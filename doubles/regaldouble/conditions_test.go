package regaldouble_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestServer_rate_limit(t *testing.T) {
	tests := []struct {
		name           string
		cfg            regaldouble.Config
		keys           []secret.Secret
		wantStatuses   []int
		wantRetryAfter string
	}{
		{name: "burst_passes_then_429_without_retry_after", cfg: regaldouble.Config{RateLimit: 1, RateBurst: 3},
			keys: []secret.Secret{firstKey, firstKey, firstKey, firstKey}, wantStatuses: []int{200, 200, 200, 429}},
		{name: "retry_after_sent_when_configured", cfg: regaldouble.Config{RateLimit: 1, RateBurst: 1, RateLimitRetryAfter: "1"},
			keys: []secret.Secret{firstKey, firstKey}, wantStatuses: []int{200, 429}, wantRetryAfter: "1"},
		{name: "default_burst_is_a_tenth_of_a_second", cfg: regaldouble.Config{RateLimit: 40},
			keys:         []secret.Secret{firstKey, firstKey, firstKey, firstKey, firstKey},
			wantStatuses: []int{200, 200, 200, 200, 429}},
		{name: "each_key_has_its_own_bucket", cfg: regaldouble.Config{RateLimit: 1, RateBurst: 1},
			keys: []secret.Secret{firstKey, firstKey, secondKey, secondKey}, wantStatuses: []int{200, 429, 200, 429}},
		{name: "zero_rate_is_no_limit", cfg: regaldouble.Config{RateBurst: 1},
			keys: []secret.Secret{firstKey, firstKey, firstKey}, wantStatuses: []int{200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, tt.cfg)
			var limited int
			for i, key := range tt.keys {
				resp := post(t, srv, key, validBody)
				if resp.status != tt.wantStatuses[i] {
					t.Fatalf("request %d = %d, want %d", i, resp.status, tt.wantStatuses[i])
				}
				if resp.status != http.StatusTooManyRequests {
					continue
				}
				limited++
				if want := `{"statusCode":429,"message":"Too many requests","error":"Rate Limit Exceeded"}`; resp.body != want {
					t.Errorf("429 body = %s, want %s", resp.body, want)
				}
				if got := resp.header.Get("Retry-After"); got != tt.wantRetryAfter {
					t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
				}
			}
			st := srv.Stats()
			if st.TooManyRequests != limited || st.ByReason[regaldouble.ReasonRateLimited] != limited || st.Accepted != srv.Count() {
				t.Errorf("Stats = %+v, want %d rate limited and Accepted = Count = %d", st, limited, srv.Count())
			}
		})
	}
}

func TestServer_rate_limit_refills_at_its_rate(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{RateLimit: 20, RateBurst: 1})
	if first, second := post(t, srv, firstKey, validBody).status, post(t, srv, firstKey, validBody).status; first != 200 || second != 429 {
		t.Fatalf("statuses = %d, %d; want 200, 429", first, second)
	}
	time.Sleep(100 * time.Millisecond) // two refill intervals: the bucket refills on the wall clock
	if got := post(t, srv, firstKey, validBody).status; got != 200 {
		t.Errorf("after a refill interval: %d, want 200", got)
	}
}

func TestServer_rate_limit_holds_under_concurrent_load(t *testing.T) {
	const rate, burst, senders = 100.0, 10, 8
	srv := startConfigured(t, regaldouble.Config{RateLimit: rate, RateBurst: burst})
	client := sharedClient(t)
	start := time.Now()
	deadline := start.Add(time.Second)
	var accepted, failures atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				status, err := postStatus(client, srv.URL(), firstKey, validBody)
				switch {
				case err != nil:
					failures.Add(1)
					return
				case status == http.StatusOK:
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if failures.Load() > 0 {
		t.Fatalf("%d requests failed", failures.Load())
	}
	ceiling := rate*elapsed + burst + 1
	if got := float64(accepted.Load()); got > ceiling || got < 0.8*rate {
		t.Errorf("accepted %v in %.2fs, want between %v and %v", got, elapsed, 0.8*rate, ceiling)
	}
	if st := srv.Stats(); st.TooManyRequests == 0 {
		t.Errorf("Stats = %+v, want 429s under 8 busy senders", st)
	}
}

func TestServer_error_rate(t *testing.T) {
	tests := []struct {
		name       string
		cfg        regaldouble.Config
		wantStatus int
		wantMin    int
		wantMax    int
	}{
		{name: "quarter_of_requests_get_503", cfg: regaldouble.Config{ErrorRate: 0.25, Seed: 7}, wantStatus: 503, wantMin: 30, wantMax: 70},
		{name: "configured_status", cfg: regaldouble.Config{ErrorRate: 0.25, ErrorStatus: 502, Seed: 7}, wantStatus: 502, wantMin: 30, wantMax: 70},
		{name: "every_request", cfg: regaldouble.Config{ErrorRate: 1}, wantStatus: 503, wantMin: 200, wantMax: 200},
		{name: "none", cfg: regaldouble.Config{ErrorRate: 0}, wantStatus: 503, wantMin: 0, wantMax: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, tt.cfg)
			client := sharedClient(t)
			var failed int
			for range 200 {
				status, err := postStatus(client, srv.URL(), firstKey, validBody)
				if err != nil {
					t.Fatal(err)
				}
				switch status {
				case tt.wantStatus:
					failed++
				case http.StatusOK:
				default:
					t.Fatalf("status %d, want 200 or %d", status, tt.wantStatus)
				}
			}
			if failed < tt.wantMin || failed > tt.wantMax {
				t.Errorf("%d of 200 failed, want between %d and %d", failed, tt.wantMin, tt.wantMax)
			}
			st := srv.Stats()
			if st.ServerErrors != failed || st.ByReason[regaldouble.ReasonErrorRate] != failed || srv.Count() != 200-failed {
				t.Errorf("Stats = %+v, Count = %d; want %d error-rate 5xx and the rest recorded", st, srv.Count(), failed)
			}
		})
	}
}

func TestServer_error_rate_repeats_with_the_same_seed(t *testing.T) {
	sequence := func() []int {
		srv := startConfigured(t, regaldouble.Config{ErrorRate: 0.5, Seed: 42})
		client := sharedClient(t)
		var statuses []int
		for range 40 {
			status, err := postStatus(client, srv.URL(), firstKey, validBody)
			if err != nil {
				t.Fatal(err)
			}
			statuses = append(statuses, status)
		}
		return statuses
	}
	first, second := sequence(), sequence()
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("request %d: %d then %d; want the same sequence for the same seed", i, first[i], second[i])
		}
	}
}

func TestServer_latency_holds_every_answer(t *testing.T) {
	tests := []struct {
		name       string
		key        secret.Secret
		wantStatus int
	}{
		{name: "accepted", key: firstKey, wantStatus: 200},
		{name: "unauthorized", key: "wrong", wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{Latency: 80 * time.Millisecond})
			start := time.Now()
			if got := post(t, srv, tt.key, validBody).status; got != tt.wantStatus {
				t.Errorf("status = %d, want %d", got, tt.wantStatus)
			}
			if elapsed := time.Since(start); elapsed < 80*time.Millisecond {
				t.Errorf("answered after %s, want at least 80ms", elapsed)
			}
		})
	}
}

func TestServer_outage(t *testing.T) {
	tests := []struct {
		name  string
		start func(*regaldouble.Server)
		// during and after are the statuses right after start and after
		// the wait.
		wait          time.Duration
		during, after int
	}{
		{name: "set_outage_until_switched_off", start: func(s *regaldouble.Server) { s.SetOutage(true) },
			wait: 50 * time.Millisecond, during: 503, after: 503},
		{name: "outage_window_ends_by_itself", start: func(s *regaldouble.Server) { s.OutageFor(100 * time.Millisecond) },
			wait: 150 * time.Millisecond, during: 503, after: 200},
		{name: "set_outage_off_ends_a_window", start: func(s *regaldouble.Server) { s.OutageFor(time.Hour); s.SetOutage(false) },
			during: 200, after: 200},
		{name: "window_end_does_not_end_set_outage", start: func(s *regaldouble.Server) { s.SetOutage(true); s.OutageFor(0) },
			during: 503, after: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{})
			tt.start(srv)
			if got := post(t, srv, firstKey, validBody); got.status != tt.during {
				t.Errorf("during: %d %s, want %d", got.status, got.body, tt.during)
			}
			time.Sleep(tt.wait) // an outage window runs on the wall clock
			if got := post(t, srv, firstKey, validBody).status; got != tt.after {
				t.Errorf("after %s: %d, want %d", tt.wait, got, tt.after)
			}
		})
	}
}

func TestServer_outage_answers_before_authentication(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{})
	srv.SetOutage(true)
	resp := post(t, srv, "wrong", validBody)
	if resp.status != 503 || resp.body != `{"message":"Service Unavailable"}` {
		t.Errorf("answer = %d %s, want 503 {\"message\":\"Service Unavailable\"}", resp.status, resp.body)
	}
	if st := srv.Stats(); st.ByReason[regaldouble.ReasonOutage] != 1 || st.ServerErrors != 1 {
		t.Errorf("Stats = %+v, want one outage 5xx", st)
	}
}

func TestServer_slow_phones(t *testing.T) {
	const slowPhone = "+15515557212"
	tests := []struct {
		name     string
		body     string
		wantSlow bool
	}{
		{name: "named_phone_waits", body: bodyWithPhone(slowPhone), wantSlow: true},
		{name: "one_of_several_phones_waits", body: `{"traits":{"phones":{"+15550000000":{},"` + slowPhone + `":{}}},"name":"X"}`, wantSlow: true},
		{name: "other_phone_does_not_wait", body: bodyWithPhone("+15550000000")},
		{name: "no_traits_does_not_wait", body: `{"name":"X"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{SlowPhones: map[string]time.Duration{slowPhone: 300 * time.Millisecond}})
			start := time.Now()
			if got := post(t, srv, firstKey, tt.body).status; got != 200 {
				t.Fatalf("status = %d, want 200", got)
			}
			if slow := time.Since(start) >= 300*time.Millisecond; slow != tt.wantSlow {
				t.Errorf("answered after %s; slow = %v, want %v", time.Since(start), slow, tt.wantSlow)
			}
		})
	}
}

func TestServer_client_leaving_a_held_answer_is_counted_unanswered(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{SlowPhones: map[string]time.Duration{"+15515557212": time.Minute}})
	client := sharedClient(t)
	client.Timeout = 100 * time.Millisecond
	if _, err := postStatus(client, srv.URL(), firstKey, validBody); err == nil {
		t.Fatal("request answered, want a client timeout")
	}
	poll.Until(t, "the unanswered request counted", func() bool { return srv.Stats().ByReason[regaldouble.ReasonUnanswered] > 0 })
	if st := srv.Stats(); st.ByReason[regaldouble.ReasonUnanswered] != 1 || st.Accepted != 0 || srv.Count() != 0 {
		t.Errorf("Stats = %+v, Count = %d; want one unanswered request and nothing recorded", st, srv.Count())
	}
}

func TestServer_setters_reject_out_of_range_values(t *testing.T) {
	tests := []struct {
		name string
		set  func(*regaldouble.Server) error
	}{
		{name: "negative_rate_limit", set: func(s *regaldouble.Server) error { return s.SetRateLimit(-1, 0) }},
		{name: "negative_burst", set: func(s *regaldouble.Server) error { return s.SetRateLimit(1, -1) }},
		{name: "error_rate_above_one", set: func(s *regaldouble.Server) error { return s.SetErrorRate(1.5, 0) }},
		{name: "negative_error_rate", set: func(s *regaldouble.Server) error { return s.SetErrorRate(-0.1, 0) }},
		{name: "error_status_not_5xx", set: func(s *regaldouble.Server) error { return s.SetErrorRate(0.5, 429) }},
		{name: "negative_latency", set: func(s *regaldouble.Server) error { return s.SetLatency(-time.Second) }},
		{name: "negative_slow_phone_delay", set: func(s *regaldouble.Server) error {
			return s.SetSlowPhones(map[string]time.Duration{"+15515557212": -time.Second})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{})
			if err := tt.set(srv); err == nil {
				t.Fatal("setter succeeded, want an error")
			}
			if got := post(t, srv, firstKey, validBody).status; got != 200 {
				t.Errorf("status after a rejected change = %d, want 200 (nothing changed)", got)
			}
		})
	}
}

func TestServer_Start_rejects_out_of_range_conditions(t *testing.T) {
	tests := []struct {
		name string
		cfg  regaldouble.Config
	}{
		{name: "negative_rate_limit", cfg: regaldouble.Config{RateLimit: -1}},
		{name: "error_rate_above_one", cfg: regaldouble.Config{ErrorRate: 2}},
		{name: "error_status_not_5xx", cfg: regaldouble.Config{ErrorRate: 0.1, ErrorStatus: 200}},
		{name: "negative_latency", cfg: regaldouble.Config{Latency: -time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.APIKeys = []secret.Secret{firstKey}
			srv := regaldouble.New(tt.cfg, nil)
			if err := srv.Start(context.Background()); err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatal("Start succeeded, want an error")
			}
		})
	}
}

func TestServer_runtime_changes_take_effect(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{})
	if err := srv.SetErrorRate(1, 500); err != nil {
		t.Fatal(err)
	}
	if got := post(t, srv, firstKey, validBody).status; got != 500 {
		t.Errorf("with error rate 1: %d, want 500", got)
	}
	if err := srv.SetErrorRate(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetRateLimit(1, 1); err != nil {
		t.Fatal(err)
	}
	srv.SetRateLimitRetryAfter("7")
	post(t, srv, firstKey, validBody)
	if got := post(t, srv, firstKey, validBody); got.status != 429 || got.header.Get("Retry-After") != "7" {
		t.Errorf("over the new limit: %d Retry-After %q, want 429 and 7", got.status, got.header.Get("Retry-After"))
	}
}

func TestServer_Reset_restores_configured_conditions(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{RateLimit: 1, RateBurst: 1})
	post(t, srv, firstKey, validBody)
	srv.SetOutage(true)
	if err := srv.SetRateLimit(0, 0); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	if got := post(t, srv, firstKey, validBody).status; got != 200 {
		t.Errorf("first request after Reset = %d, want 200 (outage over, bucket full)", got)
	}
	if got := post(t, srv, firstKey, validBody).status; got != 429 {
		t.Errorf("second request after Reset = %d, want 429 (configured limit back)", got)
	}
	if st := srv.Stats(); st.Requests != 2 || st.Accepted != 1 || st.TooManyRequests != 1 {
		t.Errorf("Stats after Reset = %+v, want counts of the two later requests only", st)
	}
}

func TestServer_Stats_counts_every_answer_by_reason(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{})
	srv.SetStatusSequence(500, 429)
	post(t, srv, firstKey, validBody)            // scripted 500
	post(t, srv, firstKey, validBody)            // scripted 429
	post(t, srv, "wrong", validBody)             // 401
	post(t, srv, firstKey, `{"name":42}`)        // 400
	post(t, srv, firstKey, validBody)            // 200
	post(t, srv, secondKey, bodyWithPhone("+1")) // 200
	want := regaldouble.Stats{Requests: 6, Accepted: 2, TooManyRequests: 1, ServerErrors: 1, ClientErrors: 2,
		ByReason: map[string]int{regaldouble.ReasonScripted: 2, regaldouble.ReasonUnauthorized: 1,
			regaldouble.ReasonBadRequest: 1, regaldouble.ReasonAccepted: 2}}
	got := srv.Stats()
	if got.Requests != want.Requests || got.Accepted != want.Accepted || got.TooManyRequests != want.TooManyRequests ||
		got.ServerErrors != want.ServerErrors || got.ClientErrors != want.ClientErrors || len(got.ByReason) != len(want.ByReason) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	for reason, n := range want.ByReason {
		if got.ByReason[reason] != n {
			t.Errorf("ByReason[%s] = %d, want %d", reason, got.ByReason[reason], n)
		}
	}
}

func TestServer_revoked_keys_and_rejections(t *testing.T) {
	tests := []struct {
		name        string
		set         func(*regaldouble.Server) error
		key         secret.Secret
		wantStatus  int
		wantMessage string
		wantReason  string
	}{
		{name: "revoked_key_is_unauthorized", set: func(s *regaldouble.Server) error { s.RevokeKeys(0); return nil },
			key: firstKey, wantStatus: 401, wantMessage: "Unauthorized", wantReason: regaldouble.ReasonUnauthorized},
		{name: "other_key_still_accepted", set: func(s *regaldouble.Server) error { s.RevokeKeys(0); return nil },
			key: secondKey, wantStatus: 200, wantMessage: "ok", wantReason: regaldouble.ReasonAccepted},
		{name: "revocation_lifted", set: func(s *regaldouble.Server) error { s.RevokeKeys(0); s.RevokeKeys(); return nil },
			key: firstKey, wantStatus: 200, wantMessage: "ok", wantReason: regaldouble.ReasonAccepted},
		{name: "rejection_by_phone", set: func(s *regaldouble.Server) error {
			return s.SetRejections(regaldouble.Rejection{Phone: "+15515557212", Message: "traits.phones: refused"})
		}, key: firstKey, wantStatus: 400, wantMessage: "traits.phones: refused", wantReason: regaldouble.ReasonRejected},
		{name: "rejection_by_phone_and_name", set: func(s *regaldouble.Server) error {
			return s.SetRejections(regaldouble.Rejection{Phone: "+15515557212", Name: "Interaction Queued", Message: "name refused"})
		}, key: firstKey, wantStatus: 400, wantMessage: "name refused", wantReason: regaldouble.ReasonRejected},
		{name: "rejection_of_another_name_passes", set: func(s *regaldouble.Server) error {
			return s.SetRejections(regaldouble.Rejection{Name: "Interaction Deleted", Message: "refused"})
		}, key: firstKey, wantStatus: 200, wantMessage: "ok", wantReason: regaldouble.ReasonAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startConfigured(t, regaldouble.Config{})
			if err := tt.set(srv); err != nil {
				t.Fatal(err)
			}
			resp := post(t, srv, tt.key, validBody)
			var body struct{ Message string }
			_ = json.Unmarshal([]byte(resp.body), &body)
			if resp.status != tt.wantStatus || body.Message != tt.wantMessage {
				t.Errorf("answer = %d %s, want %d %q", resp.status, resp.body, tt.wantStatus, tt.wantMessage)
			}
			if st := srv.Stats(); st.ByReason[tt.wantReason] != 1 {
				t.Errorf("Stats.ByReason = %v, want one %s", st.ByReason, tt.wantReason)
			}
		})
	}
}

func TestServer_rejection_matching_everything_is_refused(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{})
	if err := srv.SetRejections(regaldouble.Rejection{Message: "all"}); err == nil {
		t.Fatal("SetRejections accepted a rejection without phone or name")
	}
	if got := post(t, srv, firstKey, validBody).status; got != 200 {
		t.Fatalf("status %d after a refused change, want 200", got)
	}
}

func TestControl_revoked_keys_and_rejections(t *testing.T) {
	srv := startConfigured(t, regaldouble.Config{Control: true})
	resp := do(t, http.MethodPost, srv.URL()+regaldouble.ControlFaultsPath, nil,
		`{"revoked_keys":[1],"rejections":[{"phone":"+15515557212","message":"refused"}]}`)
	var st regaldouble.FaultsState
	if err := json.Unmarshal([]byte(resp.body), &st); err != nil || resp.status != 200 ||
		len(st.RevokedKeys) != 1 || st.RevokedKeys[0] != 1 || len(st.Rejections) != 1 || st.Rejections[0].Message != "refused" {
		t.Fatalf("faults = %d %s (%v)", resp.status, resp.body, err)
	}
	if got := post(t, srv, secondKey, validBody).status; got != 401 {
		t.Errorf("revoked key: %d, want 401", got)
	}
	if got := post(t, srv, firstKey, validBody).status; got != 400 {
		t.Errorf("rejected phone: %d, want 400", got)
	}
	do(t, http.MethodPost, srv.URL()+regaldouble.ControlFaultsPath, nil, `{"revoked_keys":[],"rejections":[]}`)
	if got := post(t, srv, secondKey, validBody).status; got != 200 {
		t.Errorf("after clearing: %d, want 200", got)
	}
}
