package regal

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 4, 16, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		value    string
		want     time.Duration
		wantSeen bool
	}{
		{name: "absent", value: ""},
		{name: "delay_seconds", value: "3", want: 3 * time.Second, wantSeen: true},
		{name: "zero_seconds", value: "0", want: 0, wantSeen: true},
		{name: "padded_seconds", value: " 7 ", want: 7 * time.Second, wantSeen: true},
		{name: "negative_seconds_is_ignored", value: "-1"},
		{name: "huge_seconds_saturate", value: "99999999999999999", want: math.MaxInt64, wantSeen: true},
		{name: "http_date_in_future", value: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second, wantSeen: true},
		{name: "http_date_in_past_is_zero", value: now.Add(-time.Minute).Format(http.TimeFormat), want: 0, wantSeen: true},
		{name: "rfc850_date", value: now.Add(time.Minute).Format(time.RFC850), want: time.Minute, wantSeen: true},
		{name: "garbage_is_ignored", value: "soon"},
		{name: "fractional_seconds_are_ignored", value: "1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, seen := parseRetryAfter(tt.value, now)
			if got != tt.want || seen != tt.wantSeen {
				t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.value, got, seen, tt.want, tt.wantSeen)
			}
		})
	}
}

func TestBackoff_stays_within_the_doubling_ceiling(t *testing.T) {
	const initial, limit = 100 * time.Millisecond, 1 * time.Second
	tests := []struct {
		attempt     int
		wantCeiling time.Duration
	}{
		{attempt: 1, wantCeiling: 100 * time.Millisecond},
		{attempt: 2, wantCeiling: 200 * time.Millisecond},
		{attempt: 3, wantCeiling: 400 * time.Millisecond},
		{attempt: 4, wantCeiling: 800 * time.Millisecond},
		{attempt: 5, wantCeiling: time.Second},
		{attempt: 60, wantCeiling: time.Second},
	}
	for _, tt := range tests {
		var largest time.Duration
		for range 2000 {
			d := backoff(tt.attempt, initial, limit)
			if d < 0 || d > tt.wantCeiling {
				t.Fatalf("backoff(%d) = %s, want within [0, %s]", tt.attempt, d, tt.wantCeiling)
			}
			largest = max(largest, d)
		}
		if largest < tt.wantCeiling/2 {
			t.Errorf("backoff(%d) never exceeded %s in 2000 draws; want jitter over [0, %s]", tt.attempt, largest, tt.wantCeiling)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{
		400: false, 401: false, 403: false, 404: false, 413: false, 422: false, 307: false, 409: false,
		408: true, 429: true, 500: true, 502: true, 503: true, 504: true,
	} {
		if got := retryableStatus(status); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}
