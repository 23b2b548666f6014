package dispatcher

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const pauseKey = secret.Secret("rk_test_pause-LEAKCANARY")

// fakeClock is the gate's clock, moved by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// pausingDispatcher is a dispatcher sending to a Regal double that knows
// pauseKey, with its gate on a fake clock and a probe interval of 30 s.
func pausingDispatcher(t *testing.T) (*Dispatcher, *regaldouble.Server, *fakeClock, *strings.Builder) {
	t.Helper()
	double := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{pauseKey}}, nil)
	if err := double.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = double.Shutdown(context.Background()) })
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Tenants: []config.Tenant{{Name: "acme", Regal: config.TenantRegal{APIKey: pauseKey}}},
		Dispatcher: config.Dispatcher{CollectorAddr: "127.0.0.1:1", ID: "d1", MaxInFlight: 4,
			Regal: regal.Settings{Config: regal.Config{BaseURL: double.URL(), Timeout: 10 * time.Second, MaxAttempts: 1},
				PauseProbeInterval: 30 * time.Second},
			Mapping: translate.DefaultMapping()},
		Telemetry: config.Telemetry{PhoneHashSalt: "test-phone-hash-salt"},
	}
	var logs strings.Builder
	var logMu sync.Mutex
	d, err := New(cfg, slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)), tel)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	d.gate.now = clock.Now
	t.Cleanup(func() {
		_ = d.Shutdown(context.Background())
		_ = tel.Shutdown(context.Background())
	})
	return d, double, clock, &logs
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func pauseDelivery(id uint64) *deliveryv1.Delivery {
	return &deliveryv1.Delivery{DeliveryId: id, Event: &eventv1.Event{
		Tenant: "acme", InteractionId: "int-1", OrderKey: "int-1", Family: "Interaction", EventType: "InteractionCreated",
		OccurredAt: timestamppb.New(time.Unix(1724685480, 0)), ReceivedAt: timestamppb.New(time.Unix(1724685480, 0)),
		Interaction: &eventv1.InteractionFields{CustomerPhone: "+15515557212"},
	}}
}

func TestRefusedKeyPausesTheTenantProbesAndResumes(t *testing.T) {
	d, double, clock, logs := pausingDispatcher(t)
	double.RevokeKeys(0)

	steps := []struct {
		name         string
		before       func()
		wantOutcome  deliveryv1.Outcome
		wantRequests int // the double's requests after the step
		wantWait     time.Duration
	}{
		{name: "401_pauses_without_dead_letter", wantOutcome: deliveryv1.Outcome_OUTCOME_TENANT_PAUSED, wantRequests: 1, wantWait: 30 * time.Second},
		{name: "paused_answers_at_once_without_a_request", before: func() { clock.advance(10 * time.Second) },
			wantOutcome: deliveryv1.Outcome_OUTCOME_TENANT_PAUSED, wantRequests: 1, wantWait: 20 * time.Second},
		{name: "due_probe_is_refused_again", before: func() { clock.advance(20 * time.Second) },
			wantOutcome: deliveryv1.Outcome_OUTCOME_TENANT_PAUSED, wantRequests: 2, wantWait: 30 * time.Second},
		{name: "probe_succeeds_once_the_key_works", before: func() { double.RevokeKeys(); clock.advance(30 * time.Second) },
			wantOutcome: deliveryv1.Outcome_OUTCOME_DELIVERED, wantRequests: 3},
		{name: "resumed_tenant_sends_at_once", wantOutcome: deliveryv1.Outcome_OUTCOME_DELIVERED, wantRequests: 4},
	}
	for i, st := range steps {
		if st.before != nil {
			st.before()
		}
		ack := d.Handle(context.Background(), pauseDelivery(uint64(i+1)))
		if ack.GetOutcome() != st.wantOutcome {
			t.Fatalf("%s: outcome %v (%s), want %v", st.name, ack.GetOutcome(), ack.GetReason(), st.wantOutcome)
		}
		if got := double.Requests(); got != st.wantRequests {
			t.Fatalf("%s: the double saw %d requests, want %d", st.name, got, st.wantRequests)
		}
		if st.wantOutcome == deliveryv1.Outcome_OUTCOME_TENANT_PAUSED {
			if ack.GetAttempts() != 0 || ack.GetRetryAfter().AsDuration() != st.wantWait {
				t.Fatalf("%s: attempts %d, retry_after %v; want 0 and %s", st.name, ack.GetAttempts(), ack.GetRetryAfter().AsDuration(), st.wantWait)
			}
			if p := d.Paused(); len(p) != 1 || p[0].Tenant != "acme" || p[0].Reason != "unauthorized" || p[0].Status != 401 {
				t.Fatalf("%s: paused %+v, want acme unauthorized", st.name, p)
			}
		} else if p := d.Paused(); len(p) != 0 {
			t.Fatalf("%s: still paused %+v", st.name, p)
		}
	}
	st := d.Stats()
	if st.Paused != 3 || st.FailedPermanent != 0 || st.Delivered != 2 {
		t.Fatalf("stats %+v, want 3 paused, 2 delivered, none dead-lettered", st)
	}
	out := logs.String()
	if strings.Count(out, "ALERT: Regal refuses the tenant's account") != 1 || !strings.Contains(out, "tenant=acme") ||
		!strings.Contains(out, "reason=unauthorized") || !strings.Contains(out, "deliveries resume") {
		t.Fatalf("logs do not tell the pause once, its tenant, its reason and its end:\n%s", out)
	}
	if strings.Contains(out, pauseKey.Reveal()) {
		t.Fatal("the logs reveal the key")
	}
}

func TestTransientProbeFailureKeepsTheTenantPaused(t *testing.T) {
	d, double, clock, _ := pausingDispatcher(t)
	double.SetStatusSequence(401, 503)
	if ack := d.Handle(context.Background(), pauseDelivery(1)); ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_TENANT_PAUSED {
		t.Fatalf("outcome %v, want paused", ack.GetOutcome())
	}
	clock.advance(30 * time.Second)
	// The probe meets a 503: nothing is known about the key, the probe is
	// not an attempt of the event, and the next one is 30 s away.
	ack := d.Handle(context.Background(), pauseDelivery(2))
	if ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_TENANT_PAUSED || ack.GetAttempts() != 0 || ack.GetRetryAfter().AsDuration() != 30*time.Second {
		t.Fatalf("probe meeting a 503: %v attempts %d retry_after %v", ack.GetOutcome(), ack.GetAttempts(), ack.GetRetryAfter().AsDuration())
	}
	if ack := d.Handle(context.Background(), pauseDelivery(3)); ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_TENANT_PAUSED || double.Requests() != 2 {
		t.Fatalf("after the failed probe: %v with %d requests, want paused without a request", ack.GetOutcome(), double.Requests())
	}
}

func TestUnknownTenantIsPausedNotDeadLettered(t *testing.T) {
	d, double, _, _ := pausingDispatcher(t)
	del := pauseDelivery(1)
	del.Event.Tenant = "other"
	ack := d.Handle(context.Background(), del)
	if ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_TENANT_PAUSED || double.Requests() != 0 {
		t.Fatalf("outcome %v with %d requests, want paused without a request", ack.GetOutcome(), double.Requests())
	}
	if p := d.Paused(); len(p) != 1 || p[0].Tenant != "other" || p[0].Reason != "key_unusable" {
		t.Fatalf("paused %+v", p)
	}
}
