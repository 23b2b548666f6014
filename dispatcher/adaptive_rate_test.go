package dispatcher_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
	"github.com/ccbridge/bridge/test/promtext"
)

// TestRegalRateAdaptsTo429s: a Regal account that allows 100 requests/s
// while the dispatcher is set to 285/s. Dispatcher workers send as fast as
// the shared limit (real Redis) lets them, through the real Regal client,
// to a Regal double enforcing 100/s. Regal's 429s lower the limit until
// they are rare: within 10 s every one-second window has under 5 % of
// 429s, and the dispatcher's metric shows the adapted limit, about 100.
func TestRegalRateAdaptsTo429s(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 13 s")
	}
	const (
		ceiling, regalLimit = 285.0, 100.0
		settle              = 10 // seconds within which the 429s must become rare
		windows             = 13 // one-second windows measured
		workers             = 64
	)
	double := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{testKey},
		RateLimit: regalLimit, RateBurst: regaldouble.DefaultBurst(regalLimit)}, nil)
	if err := double.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = double.Shutdown(context.Background()) })
	redis := redistest.Start(t, redistest.Options{})

	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	metrics, err := telemetry.ServeMetrics("127.0.0.1:0", tel, logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Redis:     config.Redis{Addr: redis.Addr},
		Tenants:   []config.Tenant{{Name: testTenant, Regal: config.TenantRegal{APIKey: testKey}}},
		Collector: config.Collector{Store: eventstore.Config{KeyPrefix: "adapt"}},
		Dispatcher: config.Dispatcher{
			CollectorAddr: "127.0.0.1:1", ID: "d1", MaxInFlight: workers, ShutdownGrace: time.Second,
			Regal: regal.Settings{Config: regal.Config{BaseURL: double.URL(), Timeout: 5 * time.Second, MaxAttempts: 5,
				BackoffInitial: 100 * time.Millisecond, BackoffMax: 5 * time.Second},
				RateLimit: ceiling, RateBurst: 10, RateLimitDispatchers: 1},
			Mapping: translate.DefaultMapping(),
		},
		Telemetry: config.Telemetry{PhoneHashSalt: "test-phone-hash-salt"},
	}
	d, err := dispatcher.New(cfg, logger, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		_ = metrics.Shutdown(ctx)
		_ = tel.Shutdown(ctx)
	})
	// scrape reads the tenant's limit and its ceiling off /metrics.
	scrape := func() (limit, limitCeiling float64) {
		t.Helper()
		resp, err := http.Get("http://" + metrics.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		m, err := promtext.Parse(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		tenantLabel := `tenant="` + testTenant + `"`
		if promtext.Sum(m, "ccb_dispatcher_regal_rate_limit_ceiling", tenantLabel) == 0 {
			t.Fatalf("no ccb_dispatcher_regal_rate_limit_ceiling{%s} on /metrics", tenantLabel)
		}
		return promtext.Sum(m, "ccb_dispatcher_regal_rate_limit", tenantLabel),
			promtext.Sum(m, "ccb_dispatcher_regal_rate_limit_ceiling", tenantLabel)
	}
	scrapeRate := func() float64 {
		t.Helper()
		limit, limitCeiling := scrape()
		if limitCeiling != ceiling {
			t.Fatalf("ccb_dispatcher_regal_rate_limit_ceiling = %v, want the configured %v", limitCeiling, ceiling)
		}
		return limit
	}
	if r := scrapeRate(); r != ceiling {
		t.Fatalf("before any request the limit is %v, want the configured %v", r, ceiling)
	}

	// Offered load: workers sending without pause, as a dispatcher at
	// max_in_flight does; the limiter is all that paces them.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				d.Handle(ctx, rateDelivery(fmt.Sprintf("int-%d-%d", w, i)))
			}
		})
	}
	type window struct {
		requests, refused int
		limit             float64
	}
	var got []window
	last := double.Stats()
	tick := time.NewTicker(time.Second)
	for len(got) < windows {
		<-tick.C
		st := double.Stats()
		got = append(got, window{requests: st.Requests - last.Requests, refused: st.TooManyRequests - last.TooManyRequests, limit: scrapeRate()})
		last = st
	}
	tick.Stop()
	cancel()
	wg.Wait()

	var lines []string
	for i, w := range got {
		lines = append(lines, fmt.Sprintf("%2d-%2ds: %4d requests, %3d answered 429 (%5.1f%%), limit %6.1f/s",
			i, i+1, w.requests, w.refused, 100*share(w.refused, w.requests), w.limit))
	}
	t.Logf("Regal allows %v/s, the dispatcher is set to %v/s:\n%s", regalLimit, ceiling, strings.Join(lines, "\n"))
	// The test means something only if Regal refused the ceiling at first.
	var refusedEarly int
	for _, w := range got[:settle] {
		refusedEarly += w.refused
	}
	if refusedEarly < 20 {
		t.Errorf("Regal answered 429 to %d requests in the first %d s, want many at %v/s against %v/s",
			refusedEarly, settle, ceiling, regalLimit)
	}
	var limits float64
	for i, w := range got[settle:] {
		if s := share(w.refused, w.requests); s >= 0.05 {
			t.Errorf("%d-%ds: %.1f%% of requests answered 429, want under 5%% after %d s", settle+i, settle+i+1, 100*s, settle)
		}
		if w.requests < int(0.5*regalLimit) {
			t.Errorf("%d-%ds: %d requests, want most of Regal's %v/s: the limit fell too far", settle+i, settle+i+1, w.requests, regalLimit)
		}
		limits += w.limit
	}
	// The limit saws between a decrease (×0.7) and the recovery
	// (+5 %/s of the ceiling) around what Regal allows.
	if mean := limits / float64(windows-settle); mean < 0.7*regalLimit || mean > 1.2*regalLimit {
		t.Errorf("ccb_dispatcher_regal_rate_limit averaged %.1f/s after %d s, want about Regal's %v/s", mean, settle, regalLimit)
	}
}

// share is part/whole, 0 for an empty whole.
func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// rateDelivery is one mapped event of interaction id with a customer phone.
func rateDelivery(id string) *deliveryv1.Delivery {
	return &deliveryv1.Delivery{DeliveryId: 1, Event: &eventv1.Event{
		Tenant: testTenant, InteractionId: id, Family: "Interaction", EventType: "InteractionCreated",
		OccurredAt: timestamppb.New(time.Unix(1724685480, 0)), ReceivedAt: timestamppb.Now(), OrderKey: id,
		Interaction: &eventv1.InteractionFields{CustomerPhone: "5515557212"},
	}}
}
