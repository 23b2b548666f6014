package dispatcher

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/types/known/timestamppb"

	regalpkg "github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// testPhoneHashSalt keys the phone hashes of these tests.
const testPhoneHashSalt = "test-phone-hash-salt"

// observedDispatcher is a dispatcher whose delivery spans and counter go
// to in-memory readers. Regal answers 422 to "Interaction Deleted" and
// accepts every other event.
func observedDispatcher(t *testing.T) (*Dispatcher, *tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	t.Helper()
	regal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"name":"Interaction Deleted"`) {
			http.Error(w, `{"message":"unknown contact"}`, http.StatusUnprocessableEntity)
			return
		}
		_, _ = io.WriteString(w, `{"message":"ok"}`)
	}))
	t.Cleanup(regal.Close)
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Tenants: []config.Tenant{{Name: "acme", Regal: config.TenantRegal{APIKey: "rk_test_observe"}}},
		Dispatcher: config.Dispatcher{CollectorAddr: "127.0.0.1:1", ID: "d1", MaxInFlight: 4,
			Regal:   regalpkg.Settings{Config: regalpkg.Config{BaseURL: regal.URL, Timeout: 10 * time.Second, MaxAttempts: 1}},
			Mapping: translate.DefaultMapping()},
		Telemetry: config.Telemetry{PhoneHashSalt: testPhoneHashSalt},
	}
	d, err := New(cfg, slog.New(slog.DiscardHandler), tel)
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	d.inst.tracer = tp.Tracer(instrumentation)
	if d.inst.deliveries, err = mp.Meter(instrumentation).Int64Counter("ccb.dispatcher.deliveries"); err != nil {
		t.Fatal(err)
	}
	if d.inst.eventAge, err = mp.Meter(instrumentation).Float64Histogram("ccb.dispatcher.event_age"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
		_ = tel.Shutdown(context.Background())
	})
	return d, spans, reader
}

func TestHandle_delivery_span_and_counter(t *testing.T) {
	phoneHash := telemetry.HashPhone("+15515557212", testPhoneHashSalt)
	tests := []struct {
		name        string
		tenant      string
		eventType   string
		phone       string
		wantAttrs   string
		wantStatus  codes.Code
		wantOutcome string
		wantReason  string
	}{
		{name: "delivered", tenant: "acme", eventType: "InteractionCreated", phone: "5515557212",
			wantAttrs: "cc.interaction_id=int-1 cc.event_type=InteractionCreated cc.tenant=acme cc.delivery_id=7 cc.dispatcher_id=d1 cc.redelivery=2 " +
				"cc.phone_hash=" + phoneHash + " cc.outcome=delivered regal.attempts=1 regal.event_name=Interaction Created regal.status_code=200",
			wantOutcome: "delivered"},
		{name: "dead_lettered_without_phone", tenant: "acme", eventType: "InteractionCreated",
			wantAttrs: "cc.interaction_id=int-1 cc.event_type=InteractionCreated cc.tenant=acme cc.delivery_id=7 cc.dispatcher_id=d1 cc.redelivery=2 " +
				"cc.outcome=failed_permanent regal.attempts=0",
			wantStatus: codes.Error, wantOutcome: "failed_permanent"},
		{name: "skipped_unmapped_event", tenant: "acme", eventType: "InteractionCustom", phone: "5515557212",
			wantAttrs: "cc.interaction_id=int-1 cc.event_type=InteractionCustom cc.tenant=acme cc.delivery_id=7 cc.dispatcher_id=d1 cc.redelivery=2 " +
				"cc.outcome=skipped regal.attempts=0 cc.skip_reason=unmapped_event",
			wantOutcome: "skipped", wantReason: "unmapped_event"},
		{name: "rejected_by_regal", tenant: "acme", eventType: "InteractionDeleted", phone: "5515557212",
			wantAttrs: "cc.interaction_id=int-1 cc.event_type=InteractionDeleted cc.tenant=acme cc.delivery_id=7 cc.dispatcher_id=d1 cc.redelivery=2 " +
				"cc.phone_hash=" + phoneHash + " cc.outcome=failed_permanent regal.attempts=1 regal.event_name=Interaction Deleted regal.status_code=422",
			wantStatus: codes.Error, wantOutcome: "failed_permanent"},
		{name: "unknown_tenant_is_paused_not_dead_lettered", tenant: "other", eventType: "InteractionCreated", phone: "5515557212",
			wantAttrs: "cc.interaction_id=int-1 cc.event_type=InteractionCreated cc.tenant=other cc.delivery_id=7 cc.dispatcher_id=d1 cc.redelivery=2 " +
				"cc.phone_hash=" + phoneHash + " cc.outcome=tenant_paused regal.attempts=0",
			wantStatus: codes.Error, wantOutcome: "tenant_paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, spans, reader := observedDispatcher(t)
			del := &deliveryv1.Delivery{DeliveryId: 7, Redelivery: 2, Event: &eventv1.Event{
				Tenant: tt.tenant, InteractionId: "int-1", Family: "Interaction", EventType: tt.eventType,
				OccurredAt:  timestamppb.New(time.Unix(1724685480, 0)),
				Interaction: &eventv1.InteractionFields{CustomerPhone: tt.phone},
			}}
			d.Handle(context.Background(), del)

			ended := spans.Ended()
			if len(ended) != 1 {
				t.Fatalf("%d dispatcher spans ended, want 1", len(ended))
			}
			span := ended[0]
			var attrs []string
			for _, a := range span.Attributes() {
				attrs = append(attrs, string(a.Key)+"="+a.Value.String())
			}
			if got := strings.Join(attrs, " "); got != tt.wantAttrs {
				t.Errorf("span attributes\n got %s\nwant %s", got, tt.wantAttrs)
			}
			if span.Name() != "dispatcher.process "+tt.eventType || span.Status().Code != tt.wantStatus {
				t.Errorf("span %q status %v, want %q status %v", span.Name(), span.Status().Code, "dispatcher.process "+tt.eventType, tt.wantStatus)
			}

			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			want := attribute.NewSet(attribute.String("outcome", tt.wantOutcome), attribute.String("reason", tt.wantReason))
			points := metricNamed(t, rm, "ccb.dispatcher.deliveries").Data.(metricdata.Sum[int64]).DataPoints
			if len(points) != 1 || points[0].Value != 1 || !points[0].Attributes.Equals(&want) {
				t.Errorf("deliveries counter %+v, want 1 with %v", points, want.Encoded(attribute.DefaultEncoder()))
			}
		})
	}
}

// findMetric is the metric called name in rm, if it was collected.
func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// metricNamed is the metric called name in rm; the test fails without it.
func metricNamed(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	m, ok := findMetric(rm, name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	return m
}

func TestHandle_event_age_at_first_regal_request(t *testing.T) {
	tests := []struct {
		name        string
		eventType   string
		phone       string
		redelivery  uint32
		receivedAgo time.Duration // 0: no received_at
		wantAge     bool          // an observation is recorded
		wantRedeliv bool          // with redelivery=true
	}{
		{name: "first_delivery", eventType: "InteractionCreated", phone: "5515557212", redelivery: 0,
			receivedAgo: 300 * time.Millisecond, wantAge: true},
		{name: "redelivery_counted_apart", eventType: "InteractionCreated", phone: "5515557212", redelivery: 2,
			receivedAgo: 300 * time.Millisecond, wantAge: true, wantRedeliv: true},
		{name: "rejected_by_regal_still_had_a_request", eventType: "InteractionDeleted", phone: "5515557212",
			receivedAgo: 300 * time.Millisecond, wantAge: true},
		{name: "skipped_event_sends_no_request", eventType: "InteractionCreated", receivedAgo: 300 * time.Millisecond},
		{name: "event_without_received_at", eventType: "InteractionCreated", phone: "5515557212"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, reader := observedDispatcher(t)
			ev := &eventv1.Event{Tenant: "acme", InteractionId: "int-1", Family: "Interaction", EventType: tt.eventType,
				OccurredAt:  timestamppb.New(time.Unix(1724685480, 0)),
				Interaction: &eventv1.InteractionFields{CustomerPhone: tt.phone}}
			if tt.receivedAgo > 0 {
				ev.ReceivedAt = timestamppb.New(time.Now().Add(-tt.receivedAgo))
			}
			d.Handle(context.Background(), &deliveryv1.Delivery{DeliveryId: 7, Redelivery: tt.redelivery, Event: ev})

			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			var points []metricdata.HistogramDataPoint[float64]
			if m, ok := findMetric(rm, "ccb.dispatcher.event_age"); ok {
				points = m.Data.(metricdata.Histogram[float64]).DataPoints
			}
			if !tt.wantAge {
				if len(points) != 0 {
					t.Fatalf("event age recorded %+v, want nothing", points)
				}
				return
			}
			want := attribute.NewSet(attribute.Bool("redelivery", tt.wantRedeliv))
			if len(points) != 1 || points[0].Count != 1 || !points[0].Attributes.Equals(&want) {
				t.Fatalf("event age points %+v, want one observation with %v", points, want.Encoded(attribute.DefaultEncoder()))
			}
			// The age runs from received_at to the request: at least the
			// time the event was old when handed over, and not minutes more.
			if age := points[0].Sum; age < tt.receivedAgo.Seconds() || age > tt.receivedAgo.Seconds()+10 {
				t.Errorf("event age %.3fs, want about %s", age, tt.receivedAgo)
			}
		})
	}
}
