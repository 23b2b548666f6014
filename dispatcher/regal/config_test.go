package regal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
)

func TestConfig_WithDefaults(t *testing.T) {
	got := regal.Config{}.WithDefaults()
	want := regal.Config{
		BaseURL:        "https://events.regalvoice.com",
		Timeout:        5 * time.Second,
		MaxAttempts:    5,
		BackoffInitial: 100 * time.Millisecond,
		BackoffMax:     5 * time.Second,
		MaxRetryAfter:  30 * time.Second,
	}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	custom := regal.Config{BaseURL: "http://127.0.0.1:9", MaxAttempts: 2}.WithDefaults()
	if custom.BaseURL != "http://127.0.0.1:9" || custom.MaxAttempts != 2 {
		t.Errorf("WithDefaults overwrote set fields: %+v", custom)
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     regal.Config
		wantErr string
	}{
		{name: "zero_config_takes_defaults"},
		{name: "loopback_http_url", cfg: regal.Config{BaseURL: "http://127.0.0.1:8089"}},
		{name: "ftp_scheme", cfg: regal.Config{BaseURL: "ftp://events.regalvoice.com"}, wantErr: "scheme must be http or https"},
		{name: "relative_url", cfg: regal.Config{BaseURL: "/events"}, wantErr: "scheme must be http or https"},
		{name: "missing_host", cfg: regal.Config{BaseURL: "https://"}, wantErr: "host is missing"},
		{name: "query", cfg: regal.Config{BaseURL: "https://events.regalvoice.com?x=1"}, wantErr: "query"},
		{name: "user_info_is_not_echoed", cfg: regal.Config{BaseURL: "https://u:hunter2@events.regalvoice.com"}, wantErr: "user info"},
		{name: "unparseable_url", cfg: regal.Config{BaseURL: "https://ev ents:hunter2@x\x7f"}, wantErr: "not a valid URL"},
		{name: "negative_timeout", cfg: regal.Config{Timeout: -time.Second}, wantErr: "timeout must be positive"},
		{name: "negative_attempts", cfg: regal.Config{MaxAttempts: -1}, wantErr: "max_attempts must be positive"},
		{name: "initial_above_max", cfg: regal.Config{BackoffInitial: 10 * time.Second}, wantErr: "backoff_initial (10s) exceeds backoff_max (5s)"},
		{name: "negative_retry_after_cap", cfg: regal.Config{MaxRetryAfter: -time.Second}, wantErr: "max_retry_after must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals the URL's password", err)
			}
		})
	}
}

func TestSettings_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*regal.Settings)
		wantErr string
	}{
		{name: "defaults_are_valid", mutate: func(*regal.Settings) {}},
		{name: "rate_limit_off", mutate: func(s *regal.Settings) { s.RateLimit, s.RateBurst = 0, 0 }},
		{name: "pause_probe_default", mutate: func(s *regal.Settings) { s.PauseProbeInterval = 0 }},
		{name: "negative_rate_limit", mutate: func(s *regal.Settings) { s.RateLimit = -1 }, wantErr: "rate_limit must be >= 0"},
		{name: "rate_limit_without_burst", mutate: func(s *regal.Settings) { s.RateBurst = 0 }, wantErr: "rate_burst"},
		{name: "rate_limit_without_dispatchers", mutate: func(s *regal.Settings) { s.RateLimitDispatchers = 0 }, wantErr: "rate_limit_dispatchers"},
		{name: "pause_probe_too_often", mutate: func(s *regal.Settings) { s.PauseProbeInterval = time.Millisecond }, wantErr: "pause_probe_interval must be between 100ms and 10m"},
		{name: "pause_probe_beyond_longest_pause", mutate: func(s *regal.Settings) { s.PauseProbeInterval = time.Hour }, wantErr: "pause_probe_interval must be between 100ms and 10m"},
		{name: "client_checked_too", mutate: func(s *regal.Settings) { s.BaseURL = "ftp://events.regalvoice.com" }, wantErr: "scheme must be http or https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := regal.DefaultSettings()
			tt.mutate(&s)
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
