package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestProbesFollowTheirChecks checks /healthz and /readyz: 200 while every
// check holds, 503 naming each failing check otherwise, and that liveness
// does not follow readiness.
func TestProbesFollowTheirChecks(t *testing.T) {
	clearOTelEnv(t)
	tel := setup(t, Config{ServiceName: "collector"})
	var redisDown, loopStuck atomic.Bool
	redis := Check{Name: "redis", Check: func() error {
		if redisDown.Load() {
			return errors.New("no successful ping for 12s")
		}
		return nil
	}}
	started := Check{Name: "started", Check: func() error { return nil }}
	loop := Check{Name: "loop", Check: func() error {
		if loopStuck.Load() {
			return errors.New("has not turned for 40s")
		}
		return nil
	}}
	server, err := ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler),
		MetricsOptions{Liveness: []Check{loop}, Readiness: []Check{started, redis}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Shutdown(context.Background()) })
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + server.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	tests := []struct {
		name                 string
		redisDown, loopStuck bool
		path                 string
		wantStatus           int
		wantBody             []string
		notBody              []string
	}{
		{"ready_when_every_check_holds", false, false, "/readyz", http.StatusOK, []string{"ready"}, []string{"redis"}},
		{"live_when_the_loop_turns", false, false, "/healthz", http.StatusOK, []string{"ok"}, nil},
		{"not_ready_names_the_failing_check", true, false, "/readyz", http.StatusServiceUnavailable,
			[]string{"not ready", "redis: no successful ping for 12s"}, []string{"started"}},
		{"live_while_redis_is_down", true, false, "/healthz", http.StatusOK, []string{"ok"}, nil},
		{"not_live_when_the_loop_is_stuck", false, true, "/healthz", http.StatusServiceUnavailable,
			[]string{"not live", "loop: has not turned for 40s"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redisDown.Store(tt.redisDown)
			loopStuck.Store(tt.loopStuck)
			status, body := get(tt.path)
			if status != tt.wantStatus {
				t.Fatalf("GET %s = %d %q, want %d", tt.path, status, body, tt.wantStatus)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s body %q does not contain %q", tt.path, body, w)
				}
			}
			for _, w := range tt.notBody {
				if strings.Contains(body, w) {
					t.Errorf("GET %s body %q contains %q", tt.path, body, w)
				}
			}
		})
	}
}

func TestProbesWithoutChecksAnswerOK(t *testing.T) {
	clearOTelEnv(t)
	tel := setup(t, Config{ServiceName: "dispatcher"})
	server, err := ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Shutdown(context.Background()) })
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := client.Get("http://" + server.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
}
