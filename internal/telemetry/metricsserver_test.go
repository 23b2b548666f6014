package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestServeMetrics(t *testing.T) {
	clearOTelEnv(t)
	tel := setup(t, Config{ServiceName: "collector"})
	counter, err := tel.Meter("test").Int64Counter("ccbridge.served.events")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 2)

	server, err := ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Shutdown(context.Background()) })
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "metrics", path: "/metrics", wantStatus: http.StatusOK, wantBody: "ccbridge_served_events_total"},
		{name: "healthz", path: "/healthz", wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "unknown_path", path: "/debug", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get("http://" + server.Addr() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	client.CloseIdleConnections()
	for i := range 2 {
		if err := server.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown call %d: %v", i+1, err)
		}
	}
	if _, err := client.Get("http://" + server.Addr() + "/healthz"); err == nil {
		t.Error("GET /healthz after Shutdown succeeded")
	}
}

func TestServeMetricsAddressInUse(t *testing.T) {
	clearOTelEnv(t)
	tel := setup(t, Config{ServiceName: "collector"})
	first, err := ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Shutdown(context.Background()) })
	if second, err := ServeMetrics(first.Addr(), tel, slog.New(slog.DiscardHandler)); err == nil {
		_ = second.Shutdown(context.Background())
		t.Fatal("ServeMetrics on a busy address succeeded")
	}
}

func TestServeMetricsPprof(t *testing.T) {
	clearOTelEnv(t)
	tel := setup(t, Config{ServiceName: "collector"})
	tests := []struct {
		name       string
		opts       MetricsOptions
		wantStatus int
	}{
		{name: "pprof_off_by_default", wantStatus: http.StatusNotFound},
		{name: "pprof_on_serves_the_profile_index", opts: MetricsOptions{Pprof: true}, wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, err := ServeMetrics("127.0.0.1:0", tel, slog.New(slog.DiscardHandler), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = server.Shutdown(context.Background()) })
			client := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(client.CloseIdleConnections)
			resp, err := client.Get("http://" + server.Addr() + "/debug/pprof/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET /debug/pprof/ = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && !strings.Contains(string(body), "goroutine") {
				t.Errorf("profile index does not list goroutine: %.200s", body)
			}
		})
	}
}
