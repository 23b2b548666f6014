package telemetry

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// otelEnv lists the environment variables Setup reads, cleared by
// clearOTelEnv so that a test sees only what it sets.
var otelEnv = []string{
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
}

func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, name := range otelEnv {
		t.Setenv(name, "")
	}
}

func setup(t *testing.T, cfg Config) *Telemetry {
	t.Helper()
	tel, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestSetupWithoutEndpointRecordsSpansAndExportsNothing(t *testing.T) {
	clearOTelEnv(t)
	exporter, err := newSpanExporter(context.Background())
	if err != nil || exporter != nil {
		t.Fatalf("newSpanExporter without endpoint = %v, %v; want no exporter", exporter, err)
	}

	tel := setup(t, Config{ServiceName: "collector"})
	_, span := tel.Tracer("test").Start(context.Background(), "sapi.receive")
	if !span.SpanContext().IsValid() || !span.SpanContext().IsSampled() || !span.IsRecording() {
		t.Errorf("span context %v recording=%v, want a valid, sampled, recording span", span.SpanContext(), span.IsRecording())
	}
	span.End()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestNewSpanExporterFromEnv(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantExporter bool
		wantErr      string
	}{
		{name: "no_endpoint", env: nil, wantExporter: false},
		{name: "endpoint_default_protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, wantExporter: true},
		{name: "traces_endpoint_grpc", env: map[string]string{
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		}, wantExporter: true},
		{name: "traces_protocol_wins", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1",
			"OTEL_EXPORTER_OTLP_PROTOCOL":        "carrier-pigeon",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
		}, wantExporter: true},
		{name: "unsupported_protocol", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
		}, wantErr: `"http/json" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			exporter, err := newSpanExporter(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("newSpanExporter error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("newSpanExporter: %v", err)
			}
			if (exporter != nil) != tt.wantExporter {
				t.Fatalf("newSpanExporter = %v, want exporter: %v", exporter, tt.wantExporter)
			}
			if exporter != nil {
				if err := exporter.Shutdown(context.Background()); err != nil {
					t.Errorf("exporter Shutdown: %v", err)
				}
			}
		})
	}
}

func TestSetupRejects(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		env     map[string]string
		wantErr string
	}{
		{name: "missing_service_name", cfg: Config{}, wantErr: "ServiceName is required"},
		{name: "unsupported_protocol", cfg: Config{ServiceName: "collector"}, env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
		}, wantErr: "not supported"},
		{name: "malformed_resource_attributes", cfg: Config{ServiceName: "collector"}, env: map[string]string{
			"OTEL_RESOURCE_ATTRIBUTES": "no-equals-sign",
		}, wantErr: "resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel, err := Setup(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				if tel != nil {
					_ = tel.Shutdown(context.Background())
				}
				t.Fatalf("Setup error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMetricsHandlerExposesInstrumentsAndResource(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		env  map[string]string
		want []string
	}{
		{
			name: "config_names_the_service",
			cfg:  Config{ServiceName: "dispatcher", ServiceVersion: "1.2.3", InstanceID: "dispatcher-a"},
			want: []string{
				`ccbridge_test_events_total{otel_scope_name="test"`,
				`service_name="dispatcher"`,
				`service_version="1.2.3"`,
				`service_instance_id="dispatcher-a"`,
				"go_goroutines ",
			},
		},
		{
			name: "environment_wins",
			cfg:  Config{ServiceName: "dispatcher"},
			env: map[string]string{
				"OTEL_SERVICE_NAME":        "dispatcher-eu",
				"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging",
			},
			want: []string{`service_name="dispatcher-eu"`, `deployment_environment_name="staging"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel := setup(t, tt.cfg)
			counter, err := tel.Meter("test").Int64Counter("ccbridge.test.events")
			if err != nil {
				t.Fatal(err)
			}
			counter.Add(context.Background(), 3)

			body := scrape(t, tel)
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("metrics lack %q:\n%s", want, body)
				}
			}
		})
	}
}

func TestTwoTelemetriesInOneProcessKeepTheirOwnMetrics(t *testing.T) {
	clearOTelEnv(t)
	collector := setup(t, Config{ServiceName: "collector"})
	dispatcher := setup(t, Config{ServiceName: "dispatcher"})
	counter, err := collector.Meter("test").Int64Counter("ccbridge.collector.only")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 1)

	if body := scrape(t, collector); !strings.Contains(body, "ccbridge_collector_only_total") {
		t.Errorf("collector metrics lack its counter:\n%s", body)
	}
	if body := scrape(t, dispatcher); strings.Contains(body, "ccbridge_collector_only_total") {
		t.Errorf("dispatcher metrics show the collector's counter:\n%s", body)
	}
}

func TestShutdownIsIdempotent(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{name: "without_exporter"},
		{name: "with_exporter", env: map[string]string{
			// Nothing listens on port 1; no span is made, so nothing is sent.
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel, err := Setup(context.Background(), Config{ServiceName: "collector"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := tel.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown call %d: %v", i+1, err)
				}
			}
			_, span := tel.Tracer("test").Start(context.Background(), "after.shutdown")
			if span.IsRecording() {
				t.Error("span started after Shutdown is recording")
			}
			span.End()
		})
	}
}

func TestSamplerFromEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantSampled bool
	}{
		{name: "default_keeps_every_trace", wantSampled: true},
		{name: "always_off", env: map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, wantSampled: false},
		{name: "ratio_zero", env: map[string]string{
			"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0",
		}, wantSampled: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel := setup(t, Config{ServiceName: "collector"})
			_, span := tel.Tracer("test").Start(context.Background(), "sapi.receive")
			defer span.End()
			if got := span.SpanContext().IsSampled(); got != tt.wantSampled {
				t.Errorf("root span sampled = %v, want %v", got, tt.wantSampled)
			}
		})
	}
}
