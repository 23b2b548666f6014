package regaldouble_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestServer_accepts_and_records_event(t *testing.T) {
	srv := startServer(t, nil)
	before := time.Now()
	resp := do(t, http.MethodPost, srv.URL()+"/events", http.Header{
		"Authorization": {secondKey.Reveal()},
		"Content-Type":  {"application/json"},
		"X-Request-Id":  {"req-1"},
	}, validBody)

	if resp.status != http.StatusOK || resp.body != `{"message":"ok"}` || resp.header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer = %d %q %q, want 200 {\"message\":\"ok\"} application/json", resp.status, resp.body, resp.header.Get("Content-Type"))
	}
	got := srv.Received()
	if len(got) != 1 || srv.Count() != 1 {
		t.Fatalf("recorded %d (Count %d), want 1", len(got), srv.Count())
	}
	r := got[0]
	if r.APIKeyIndex != 1 {
		t.Errorf("APIKeyIndex = %d, want 1 (the second key)", r.APIKeyIndex)
	}
	if r.At.Before(before) || r.At.After(time.Now()) {
		t.Errorf("At = %s, want the time of the request", r.At)
	}
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Request-Id") != "req-1" {
		t.Errorf("Header = %v, want it without Authorization and with the other headers", r.Header)
	}
	if string(r.Body) != validBody {
		t.Errorf("Body = %s, want %s", r.Body, validBody)
	}
	if r.Event.Name != "Interaction Queued" || r.Event.EventSource != "8x8" || r.Event.OriginalTimestamp != "2024-08-26 15:18:03 +00:00" {
		t.Errorf("Event = %+v, want the decoded body", r.Event)
	}
	if _, ok := r.Event.Traits.Phones["+15515557212"]; !ok {
		t.Errorf("Event.Traits.Phones = %v, want the phone key", r.Event.Traits.Phones)
	}
	if n := r.Event.Properties["campaign_id"]; n != json.Number("61") {
		t.Errorf("campaign_id = %#v, want json.Number(\"61\")", n)
	}
}

func TestServer_accepts_documented_shapes(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "name_only", body: `{"name":"Lead Created"}`},
		{name: "traits_only_updates_contact", body: `{"traits":{"phones":{"+15515557212":{"label":"Mobile","isPrimary":true}}}}`},
		{name: "traits_with_empty_name", body: `{"name":"","traits":{"firstName":"Anna"}}`},
		{name: "regal_overview_example", body: `{"userId":"xyz","name":"Student Enrolled","properties":{"course_title":"Introduction to Python","course_amount":"$500"},"originalTimestamp":"2000-03-06 11:12:28 -04:00","eventSource":"zapier"}`},
		{name: "opt_ins_emails_and_address", body: `{"traits":{"phones":{"+11115555555":{"voiceOptIn":{"subscribed":true,"ip":"127.0.0.1","text":"I agree","timestamp":"2000-08-20 09:12:28 -04:00"},"smsOptIn":{"subscribed":true,"source":"Booking flow"}}},"emails":{"a@example.com":{"label":"Personal","isPrimary":true,"emailOptIn":{"subscribed":true}}},"address":{"street":"201 E 87th St","zipcode":"11038"}}}`},
		{name: "custom_traits_and_nested_properties", body: `{"name":"X","traits":{"customTrait2":2},"properties":{"nested":{"a":[1,"b",null]}}}`},
		{name: "invalid_phone_is_not_an_api_error", body: `{"name":"X","traits":{"phones":{"not-a-phone":{}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, nil)
			if resp := post(t, srv, firstKey, tt.body); resp.status != http.StatusOK {
				t.Fatalf("answer = %d %s, want 200", resp.status, resp.body)
			}
			if srv.Count() != 1 {
				t.Errorf("Count = %d, want 1", srv.Count())
			}
		})
	}
}

func TestServer_rejects_missing_or_wrong_key(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
	}{
		{name: "missing_authorization", header: http.Header{}},
		{name: "empty_authorization", header: http.Header{"Authorization": {""}}},
		{name: "wrong_key", header: http.Header{"Authorization": {"rk_live_other"}}},
		{name: "bearer_prefix", header: http.Header{"Authorization": {"Bearer " + firstKey.Reveal()}}},
		{name: "key_prefix_only", header: http.Header{"Authorization": {firstKey.Reveal()[:5]}}},
		{name: "different_case", header: http.Header{"Authorization": {strings.ToUpper(firstKey.Reveal())}}},
		{name: "two_authorization_headers", header: http.Header{"Authorization": {firstKey.Reveal(), secondKey.Reveal()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, nil)
			resp := do(t, http.MethodPost, srv.URL()+"/events", tt.header, validBody)
			if resp.status != http.StatusUnauthorized || resp.body != `{"message":"Unauthorized"}` {
				t.Errorf("answer = %d %s, want 401 {\"message\":\"Unauthorized\"}", resp.status, resp.body)
			}
			if srv.Count() != 0 || srv.Requests() != 1 {
				t.Errorf("Count, Requests = %d, %d; want 0, 1", srv.Count(), srv.Requests())
			}
		})
	}
}

func TestServer_rejects_bodies_breaking_the_openapi(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantMessage string
	}{
		{name: "empty_body", body: ``, wantMessage: "not valid JSON"},
		{name: "invalid_json", body: `{"name":`, wantMessage: "not valid JSON"},
		{name: "trailing_data", body: `{"name":"X"} {"name":"Y"}`, wantMessage: "not valid JSON"},
		{name: "array_body", body: `[{"name":"X"}]`, wantMessage: "must be a JSON object"},
		{name: "string_body", body: `"Interaction Created"`, wantMessage: "must be a JSON object"},
		{name: "number_body", body: `42`, wantMessage: "must be a JSON object"},
		{name: "null_body", body: `null`, wantMessage: "must be a JSON object"},
		{name: "name_not_a_string", body: `{"name":42}`, wantMessage: "body.name must be a string"},
		{name: "name_null", body: `{"name":null,"traits":{}}`, wantMessage: "body.name must be a string"},
		{name: "user_id_number", body: `{"name":"X","userId":12345}`, wantMessage: "body.userId must be a string"},
		{name: "event_source_bool", body: `{"name":"X","eventSource":true}`, wantMessage: "body.eventSource must be a string"},
		{name: "original_timestamp_epoch", body: `{"name":"X","originalTimestamp":1724685483}`, wantMessage: "body.originalTimestamp must be a string"},
		{name: "properties_array", body: `{"name":"X","properties":[1,2]}`, wantMessage: "body.properties must be an object"},
		{name: "traits_string", body: `{"name":"X","traits":"+15515557212"}`, wantMessage: "body.traits must be an object"},
		{name: "phones_array", body: `{"traits":{"phones":["+15515557212"]}}`, wantMessage: "body.traits.phones must be an object"},
		{name: "phone_entry_string", body: `{"traits":{"phones":{"+15515557212":"Mobile"}}}`, wantMessage: "body.traits.phones.{phone} must be an object"},
		{name: "phone_label_number", body: `{"traits":{"phones":{"+15515557212":{"label":1}}}}`, wantMessage: "body.traits.phones.{phone}.label must be a string"},
		{name: "phone_is_primary_string", body: `{"traits":{"phones":{"+15515557212":{"isPrimary":"true"}}}}`, wantMessage: "isPrimary must be a boolean"},
		{name: "opt_in_subscribed_string", body: `{"traits":{"phones":{"+15515557212":{"voiceOptIn":{"subscribed":"yes"}}}}}`, wantMessage: "voiceOptIn.subscribed must be a boolean"},
		{name: "email_entry_string", body: `{"traits":{"emails":{"a@example.com":true}}}`, wantMessage: "body.traits.emails.{email} must be an object"},
		{name: "first_name_number", body: `{"traits":{"firstName":1}}`, wantMessage: "body.traits.firstName must be a string"},
		{name: "address_zipcode_number", body: `{"traits":{"address":{"zipcode":11038}}}`, wantMessage: "body.traits.address.zipcode must be a string"},
		{name: "neither_name_nor_traits", body: `{"properties":{"a":1}}`, wantMessage: "neither a name nor traits"},
		{name: "empty_name_without_traits", body: `{"name":""}`, wantMessage: "neither a name nor traits"},
		{name: "empty_object", body: `{}`, wantMessage: "neither a name nor traits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, nil)
			resp := post(t, srv, firstKey, tt.body)
			if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, tt.wantMessage) {
				t.Errorf("answer = %d %s, want 400 mentioning %q", resp.status, resp.body, tt.wantMessage)
			}
			if strings.Contains(resp.body, "5515557212") {
				t.Errorf("answer %s quotes the phone number", resp.body)
			}
			if srv.Count() != 0 {
				t.Errorf("Count = %d, want 0", srv.Count())
			}
		})
	}
}

func TestServer_rejects_oversized_body(t *testing.T) {
	srv := startServer(t, nil)
	body := `{"name":"X","properties":{"blob":"` + strings.Repeat("a", 1<<20) + `"}}`
	if resp := post(t, srv, firstKey, body); resp.status != http.StatusRequestEntityTooLarge {
		t.Errorf("answer = %d %s, want 413", resp.status, resp.body)
	}
}

func TestServer_routes_other_methods_and_paths(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantStatus         int
	}{
		{name: "get_events", method: http.MethodGet, path: "/events", wantStatus: http.StatusMethodNotAllowed},
		{name: "put_events", method: http.MethodPut, path: "/events", wantStatus: http.StatusMethodNotAllowed},
		{name: "post_root", method: http.MethodPost, path: "/", wantStatus: http.StatusNotFound},
		{name: "post_v1_events", method: http.MethodPost, path: "/v1/events", wantStatus: http.StatusNotFound},
		{name: "post_events_subpath", method: http.MethodPost, path: "/events/1", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, nil)
			resp := do(t, tt.method, srv.URL()+tt.path, http.Header{"Authorization": {firstKey.Reveal()}}, validBody)
			if resp.status != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.status, tt.wantStatus)
			}
			if srv.Requests() != 0 {
				t.Errorf("Requests = %d, want 0", srv.Requests())
			}
		})
	}
}

func TestServer_status_sequence_comes_before_normal_answers(t *testing.T) {
	srv := startServer(t, nil)
	srv.SetStatusSequence(500, 429)
	var got []int
	for range 3 {
		got = append(got, post(t, srv, firstKey, validBody).status)
	}
	if fmt.Sprint(got) != "[500 429 200]" {
		t.Errorf("statuses = %v, want [500 429 200]", got)
	}
	if srv.Count() != 1 || srv.Requests() != 3 {
		t.Errorf("Count, Requests = %d, %d; want 1, 3", srv.Count(), srv.Requests())
	}
}

func TestServer_faults(t *testing.T) {
	tests := []struct {
		name           string
		fault          regaldouble.Fault
		key            secret.Secret
		wantStatus     int
		wantRetryAfter string
		wantBody       string
		wantMinTime    time.Duration
	}{
		{name: "rate_limit_with_retry_after", fault: regaldouble.Fault{Status: 429, RetryAfter: "2"},
			key: firstKey, wantStatus: 429, wantRetryAfter: "2", wantBody: `{"message":"Too Many Requests"}`},
		{name: "fault_answers_before_authentication", fault: regaldouble.Fault{Status: 503},
			key: "wrong", wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`},
		{name: "delay_then_normal_answer", fault: regaldouble.Fault{Delay: 100 * time.Millisecond},
			key: firstKey, wantStatus: 200, wantBody: `{"message":"ok"}`, wantMinTime: 100 * time.Millisecond},
		{name: "delay_then_status", fault: regaldouble.Fault{Delay: 50 * time.Millisecond, Status: 500},
			key: firstKey, wantStatus: 500, wantMinTime: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, nil)
			srv.SetFaults(tt.fault)
			start := time.Now()
			resp := post(t, srv, tt.key, validBody)
			if resp.status != tt.wantStatus || resp.header.Get("Retry-After") != tt.wantRetryAfter {
				t.Errorf("answer = %d Retry-After %q, want %d %q", resp.status, resp.header.Get("Retry-After"), tt.wantStatus, tt.wantRetryAfter)
			}
			if tt.wantBody != "" && resp.body != tt.wantBody {
				t.Errorf("body = %s, want %s", resp.body, tt.wantBody)
			}
			if elapsed := time.Since(start); elapsed < tt.wantMinTime {
				t.Errorf("answered after %s, want at least %s", elapsed, tt.wantMinTime)
			}
			if again := post(t, srv, firstKey, validBody); again.status != http.StatusOK {
				t.Errorf("next answer = %d, want 200 once the fault is used", again.status)
			}
		})
	}
}

func TestServer_WaitCount(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- srv.WaitCount(ctx, 3) }()
	for i := range 3 {
		select {
		case err := <-waited:
			t.Fatalf("WaitCount(3) returned %v after %d events", err, i)
		default:
		}
		post(t, srv, firstKey, validBody)
	}
	if err := <-waited; err != nil {
		t.Errorf("WaitCount(3) = %v", err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	err := srv.WaitCount(short, 4)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 of 4 events received") {
		t.Errorf("WaitCount(4) = %v, want a deadline error saying 3 of 4 arrived", err)
	}
}

func TestServer_Reset_forgets_records_and_faults(t *testing.T) {
	srv := startServer(t, nil)
	post(t, srv, firstKey, validBody)
	srv.SetStatusSequence(500)
	srv.Reset()
	if srv.Count() != 0 || srv.Requests() != 0 || len(srv.Received()) != 0 {
		t.Errorf("after Reset: Count %d, Requests %d, Received %d; want 0, 0, 0", srv.Count(), srv.Requests(), len(srv.Received()))
	}
	if resp := post(t, srv, firstKey, validBody); resp.status != http.StatusOK {
		t.Errorf("answer after Reset = %d, want 200 (fault forgotten)", resp.status)
	}
}

func TestServer_Received_returns_a_copy(t *testing.T) {
	srv := startServer(t, nil)
	post(t, srv, firstKey, validBody)
	first := srv.Received()
	first[0].Body[0] = 'X'
	first[0].Header.Set("X-Changed", "1")
	first[0].Event.Properties["campaign_id"] = "changed"
	first[0].Event.Traits.Phones["+10000000000"] = first[0].Event.Traits.Phones["+15515557212"]

	again := srv.Received()[0]
	if string(again.Body) != validBody || again.Header.Get("X-Changed") != "" ||
		again.Event.Properties["campaign_id"] != json.Number("61") || len(again.Event.Traits.Phones) != 1 {
		t.Errorf("a caller's change reached the server's record: %+v", again)
	}
}

func TestServer_concurrent_posts_are_all_recorded(t *testing.T) {
	srv := startServer(t, nil)
	const senders = 64
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			body := fmt.Sprintf(`{"name":"Concurrent","properties":{"i":%d}}`, i)
			if resp := post(t, srv, firstKey, body); resp.status != http.StatusOK {
				t.Errorf("post %d = %d", i, resp.status)
			}
		})
		wg.Go(func() { _ = srv.Count(); _ = srv.Received() })
	}
	wg.Wait()
	seen := make(map[string]bool)
	for _, r := range srv.Received() {
		seen[r.Event.Properties["i"].(json.Number).String()] = true
	}
	if srv.Count() != senders || len(seen) != senders {
		t.Errorf("Count %d, distinct %d; want %d", srv.Count(), len(seen), senders)
	}
}

func TestServer_log_masks_phones_and_hides_key(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	srv := startServer(t, logger)
	post(t, srv, firstKey, validBody)

	mu.Lock()
	line := buf.String()
	mu.Unlock()
	if !strings.Contains(line, "+*********12") || !strings.Contains(line, `name="Interaction Queued"`) {
		t.Errorf("log %q, want the event name and the masked phone", line)
	}
	if strings.Contains(line, "5515557212") || strings.Contains(line, firstKey.Reveal()) {
		t.Errorf("log %q reveals the phone or the key", line)
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("log %q, want exactly one line", line)
	}
}

// lockedWriter serializes writes from the server's goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
