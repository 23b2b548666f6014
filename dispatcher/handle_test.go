package dispatcher_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const (
	testTenant = "acmecorp01"
	testKey    = secret.Secret("rk_test_handle-key")
	callID     = "int-1918f43ff2b-3AGMeob4DFLnS6Ubya5YMycm3-phone-01-acmecorp01"
)

// regalStub answers like Regal's events API and keeps every body it got.
type regalStub struct {
	*httptest.Server
	keep bool

	mu     sync.Mutex
	bodies []string
}

func startRegalStub(tb testing.TB, keep bool) *regalStub {
	tb.Helper()
	s := &regalStub{keep: keep}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Header.Get("Authorization") != testKey.Reveal() {
			http.Error(w, `{"message":"bad request"}`, http.StatusBadRequest)
			return
		}
		if s.keep {
			s.mu.Lock()
			s.bodies = append(s.bodies, string(body))
			s.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"message":"ok"}`)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *regalStub) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// newDispatcher returns a dispatcher sending to regalURL, not connected to
// any collector (Handle is called directly).
func newDispatcher(tb testing.TB, regalURL string) *dispatcher.Dispatcher {
	tb.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := &config.Config{
		Tenants: []config.Tenant{{Name: testTenant, Regal: config.TenantRegal{APIKey: testKey}}},
		Dispatcher: config.Dispatcher{
			CollectorAddr: "127.0.0.1:1",
			ID:            "d1",
			MaxInFlight:   8,
			ShutdownGrace: time.Second,
			Regal:         regal.Settings{Config: regal.Config{BaseURL: regalURL, Timeout: 10 * time.Second, MaxAttempts: 1}},
			Mapping:       translate.DefaultMapping(),
		},
		Telemetry: config.Telemetry{PhoneHashSalt: "test-phone-hash-salt"},
	}
	d, err := dispatcher.New(cfg, slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(io.Discard, nil))), tel)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
		if err := tel.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return d
}

// callDeliveries are the seven deliveries of one answered outbound call,
// every one carrying the customer's phone as 8x8 sends it.
func callDeliveries() []*deliveryv1.Delivery {
	base := func(f *eventv1.InteractionFields) {
		f.CampaignId = proto.Int64(61)
		f.CampaignName = "Form Submission - High Net Worth: 3 Attempts"
		f.InteractionType = "campaign"
		f.QueueId = proto.Int64(110)
		f.CustomerPhone = "5515557212"
	}
	queued := func(f *eventv1.InteractionFields) {
		base(f)
		f.Direction = "out"
		f.MediaType = "phone"
		f.QueueName = "New Form - High Net Worth <VIP> & \"friends\""
		f.QueueTime = timestamppb.New(time.Unix(1724685483, 0))
	}
	assigned := func(f *eventv1.InteractionFields) {
		queued(f)
		f.AgentId = "agyQDfU5k6SMKy8bv8vOXTGg"
		f.ParticipatingAgents = []string{f.AgentId}
	}
	steps := []struct {
		eventType string
		at        int64
		fill      func(*eventv1.InteractionFields)
	}{
		{"InteractionCreated", 1724685480, base},
		{"InteractionQueued", 1724685483, queued},
		{"InteractionAssigned", 1724685484, assigned},
		{"InteractionAccepted", 1724685486, assigned},
		{"InteractionCustomerAccepted", 1724685490, func(f *eventv1.InteractionFields) {
			assigned(f)
			f.MediaType = ""
			f.CustomerPhone = "+1 (551) 555-7212"
		}},
		{"InteractionDeassigned", 1724685540, func(f *eventv1.InteractionFields) {
			assigned(f)
			f.DispositionCode = "1000"
		}},
		{"InteractionPostProcess", 1724685560, func(f *eventv1.InteractionFields) {
			assigned(f)
			f.DispositionCode = "SALE"
		}},
	}
	out := make([]*deliveryv1.Delivery, len(steps))
	for i, s := range steps {
		fields := &eventv1.InteractionFields{}
		s.fill(fields)
		out[i] = &deliveryv1.Delivery{
			DeliveryId: uint64(i + 1),
			Event: &eventv1.Event{
				Tenant:        testTenant,
				InteractionId: callID,
				Family:        "Interaction",
				EventType:     s.eventType,
				OccurredAt:    timestamppb.New(time.Unix(s.at, 0)),
				ReceivedAt:    timestamppb.New(time.Unix(s.at, 250_000_000)),
				OrderKey:      callID,
				Interaction:   fields,
			},
			TraceContext: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		}
	}
	return out
}

func TestHandle_sends_the_exact_regal_bodies(t *testing.T) {
	stub := startRegalStub(t, true)
	d := newDispatcher(t, stub.URL)
	const (
		phones   = `{"traits":{"phones":{"+15515557212":{}}},`
		campaign = `"campaign_id":61,"campaign_name":"Form Submission - High Net Worth: 3 Attempts",`
		queue    = `"queue_id":110,"queue_name":"New Form - High Net Worth \u003cVIP\u003e \u0026 \"friends\"","queue_time":1724685483`
		tail     = `},"eventSource":"8x8","originalTimestamp":"2024-08-26 `
	)
	want := []string{
		phones + `"name":"Interaction Created","properties":{` + campaign + `"interaction_id":"` + callID + `","interaction_type":"campaign","queue_id":110` + tail + `15:18:00 +00:00"}`,
		phones + `"name":"Interaction Queued","properties":{` + campaign + `"interaction_direction":"out","interaction_id":"` + callID + `","interaction_type":"campaign","media_type":"phone",` + queue + tail + `15:18:03 +00:00"}`,
		phones + `"name":"Interaction Assigned","properties":{"agent_id":"agyQDfU5k6SMKy8bv8vOXTGg",` + campaign + `"interaction_direction":"out","interaction_id":"` + callID + `","interaction_type":"campaign","media_type":"phone",` + queue + tail + `15:18:04 +00:00"}`,
		phones + `"name":"Interaction Accepted","properties":{"agent_id":"agyQDfU5k6SMKy8bv8vOXTGg",` + campaign + `"interaction_direction":"out","interaction_id":"` + callID + `","interaction_type":"campaign","media_type":"phone",` + queue + tail + `15:18:06 +00:00"}`,
		phones + `"name":"Interaction Customer Accepted","properties":{"agent_id":"agyQDfU5k6SMKy8bv8vOXTGg",` + campaign + `"interaction_direction":"out","interaction_id":"` + callID + `","interaction_type":"campaign",` + queue + tail + `15:18:10 +00:00"}`,
		phones + `"name":"Interaction Deassigned","properties":{"agent_id":"agyQDfU5k6SMKy8bv8vOXTGg",` + campaign + `"disposition":"None","disposition_code":1000,"interaction_direction":"out","interaction_id":"` + callID + `","interaction_type":"campaign","media_type":"phone",` + queue + tail + `15:19:00 +00:00"}`,
		phones + `"name":"Interaction Post Process","properties":{"agent_id":"agyQDfU5k6SMKy8bv8vOXTGg",` + campaign + `"disposition":"SALE","interaction_direction":"out","interaction_id":"` + callID + `","interaction_type":"campaign","media_type":"phone",` + queue + tail + `15:19:20 +00:00"}`,
	}
	for i, del := range callDeliveries() {
		ack := d.Handle(context.Background(), del)
		if ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_DELIVERED {
			t.Fatalf("delivery %d: outcome %v (%s)", i+1, ack.GetOutcome(), ack.GetReason())
		}
	}
	got := stub.received()
	if len(got) != len(want) {
		t.Fatalf("Regal got %d bodies, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("body %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

// BenchmarkHandle measures one delivery through Handle (translate, encode,
// one POST to a local Regal stand-in, spans and metrics), cycling through
// the seven events of a call that share one phone number.
func BenchmarkHandle(b *testing.B) {
	stub := startRegalStub(b, false)
	d := newDispatcher(b, stub.URL)
	dels := callDeliveries()
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime(b)
	defer func() { reportCPU(b, cpu) }()
	i := 0
	for b.Loop() {
		if ack := d.Handle(ctx, dels[i%len(dels)]); ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_DELIVERED {
			b.Fatalf("outcome %v: %s", ack.GetOutcome(), ack.GetReason())
		}
		i++
	}
}

// BenchmarkHandleParallel is BenchmarkHandle with concurrent deliveries, as
// under max_in_flight.
func BenchmarkHandleParallel(b *testing.B) {
	stub := startRegalStub(b, false)
	d := newDispatcher(b, stub.URL)
	dels := callDeliveries()
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime(b)
	defer func() { reportCPU(b, cpu) }()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if ack := d.Handle(ctx, dels[i%len(dels)]); ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_DELIVERED {
				b.Errorf("outcome %v: %s", ack.GetOutcome(), ack.GetReason())
				return
			}
			i++
		}
	})
}

func TestHandle_phone_decides_between_sending_and_dead_lettering(t *testing.T) {
	tests := []struct {
		name        string
		eventType   string
		phone       string
		wantOutcome deliveryv1.Outcome
		wantReason  string
		wantPhone   string // the traits.phones key Regal receives
	}{
		{name: "valid_number_is_delivered", eventType: "InteractionCreated", phone: "5515557212",
			wantOutcome: deliveryv1.Outcome_OUTCOME_DELIVERED, wantPhone: "+15515557212"},
		{name: "unverified_number_is_delivered_in_e164", eventType: "InteractionCreated", phone: "(473) 555-8383",
			wantOutcome: deliveryv1.Outcome_OUTCOME_DELIVERED, wantPhone: "+14735558383"},
		{name: "missing_phone_is_dead_lettered", eventType: "InteractionCreated", phone: "",
			wantOutcome: deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT,
			wantReason:  "translate: no usable customer phone (no_phone): the event carries none"},
		{name: "impossible_phone_is_dead_lettered", eventType: "InteractionQueued", phone: "555-7212",
			wantOutcome: deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT,
			wantReason:  "translate: no usable customer phone (invalid_phone): not a possible number with default region US: a local number without its area code"},
		{name: "unmapped_event_is_still_skipped", eventType: "InteractionEndPostProcess", phone: "",
			wantOutcome: deliveryv1.Outcome_OUTCOME_SKIPPED, wantReason: "unmapped_event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := startRegalStub(t, true)
			d := newDispatcher(t, stub.URL)
			ack := d.Handle(context.Background(), &deliveryv1.Delivery{DeliveryId: 1, Event: &eventv1.Event{
				Tenant: testTenant, InteractionId: callID, Family: "Interaction", EventType: tt.eventType,
				OccurredAt: timestamppb.New(time.Unix(1724685480, 0)), OrderKey: callID,
				Interaction: &eventv1.InteractionFields{CustomerPhone: tt.phone},
			}})
			if ack.GetOutcome() != tt.wantOutcome || ack.GetReason() != tt.wantReason {
				t.Fatalf("ack %v %q, want %v %q", ack.GetOutcome(), ack.GetReason(), tt.wantOutcome, tt.wantReason)
			}
			got := stub.received()
			if tt.wantPhone == "" {
				if len(got) != 0 {
					t.Fatalf("Regal got %v, want nothing", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], `"phones":{"`+tt.wantPhone+`":{}}`) {
				t.Fatalf("Regal got %v, want one event for %s", got, tt.wantPhone)
			}
		})
	}
}
