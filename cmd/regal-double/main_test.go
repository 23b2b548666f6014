package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestAPIKeys(t *testing.T) {
	tests := []struct {
		name string
		list string
		want []secret.Secret
	}{
		{name: "unset", list: ""},
		{name: "one_key", list: "rk_one", want: []secret.Secret{"rk_one"}},
		{name: "several_keys_with_spaces", list: " rk_one , rk_two,", want: []secret.Secret{"rk_one", "rk_two"}},
		{name: "only_separators", list: " , ,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apiKeys(tt.list); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("apiKeys(%q) = %d keys, want %d", tt.list, len(got), len(tt.want))
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr bool
	}{
		{name: "defaults", want: options{cfg: regaldouble.Config{Addr: regaldouble.DefaultAddr, ErrorStatus: 503, Seed: 1}}},
		{name: "every_knob",
			args: []string{"-addr", "127.0.0.1:9000", "-addr-file", "/tmp/url", "-control",
				"-rate-limit", "300", "-rate-burst", "20", "-rate-limit-retry-after", "1",
				"-error-rate", "0.1", "-error-status", "502", "-seed", "9", "-latency", "20ms",
				"-slow-phone", "+15515557212=2s", "-slow-phone", "+15550000000=500ms",
				"-outage", "-outage-for", "5s"},
			want: options{
				cfg: regaldouble.Config{Addr: "127.0.0.1:9000", Control: true,
					RateLimit: 300, RateBurst: 20, RateLimitRetryAfter: "1",
					ErrorRate: 0.1, ErrorStatus: 502, Seed: 9, Latency: 20 * time.Millisecond,
					SlowPhones: map[string]time.Duration{"+15515557212": 2 * time.Second, "+15550000000": 500 * time.Millisecond}},
				addrFile: "/tmp/url", outage: true, outageFor: 5 * time.Second,
			}},
		{name: "slow_phone_without_delay", args: []string{"-slow-phone", "+15515557212"}, wantErr: true},
		{name: "slow_phone_not_e164", args: []string{"-slow-phone", "5515557212=1s"}, wantErr: true},
		{name: "slow_phone_negative_delay", args: []string{"-slow-phone", "+15515557212=-1s"}, wantErr: true},
		{name: "bad_duration", args: []string{"-latency", "soon"}, wantErr: true},
		{name: "unknown_flag", args: []string{"-rate", "300"}, wantErr: true},
		{name: "stray_argument", args: []string{"-control", "extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlags error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseFlags = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRun_writes_addr_file_and_serves_control_until_canceled(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "regal.url")
	opts, err := parseFlags([]string{"-control", "-rate-limit", "300", "-outage-for", "1h", "-addr-file", addrFile}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts.cfg.APIKeys = []secret.Secret{"rk_test"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, opts, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v", err)
		}
	}()

	url := waitForAddrFile(t, addrFile)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("addr file holds %q, want http://127.0.0.1:<port>", url)
	}
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodPost, url+"/events", strings.NewReader(`{"name":"X"}`))
	req.Header.Set("Authorization", "rk_test")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /events = %d, want 503 (started in an outage)", resp.StatusCode)
	}

	resp, err = client.Post(url+regaldouble.ControlFaultsPath, "application/json", strings.NewReader(`{"outage":false}`))
	if err != nil {
		t.Fatal(err)
	}
	var state regaldouble.FaultsState
	err = json.NewDecoder(resp.Body).Decode(&state)
	resp.Body.Close()
	if err != nil || state.Outage || state.RateLimit != 300 || state.RateBurst != 30 {
		t.Errorf("faults state = %+v (%v), want no outage, 300/s with burst 30", state, err)
	}
}

func TestRun_fails_when_addr_file_cannot_be_written(t *testing.T) {
	opts, err := parseFlags([]string{"-addr-file", filepath.Join(t.TempDir(), "missing", "regal.url")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts.cfg.APIKeys = []secret.Secret{"rk_test"}
	if err := run(context.Background(), opts, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("run succeeded, want an addr file error")
	}
}

// waitForAddrFile waits until path holds a URL and returns it.
func waitForAddrFile(t *testing.T, path string) string {
	t.Helper()
	var url string
	poll.Until(t, path+" to be written", func() bool {
		data, err := os.ReadFile(path)
		url = strings.TrimSpace(string(data))
		return err == nil
	})
	return url
}
