package collector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector"
	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
	"github.com/ccbridge/bridge/test/promtext"
)

const (
	leaseTenant    = "acmecorp01"
	leaseSAPIToken = secret.Secret("sapi-token-for-collector-tests")
)

// startDouble runs a SAPI double serving leaseTenant.
func startDouble(t *testing.T) *sapidouble.Server {
	t.Helper()
	d := sapidouble.New(sapidouble.Config{
		Tenants: map[string]sapidouble.Credentials{leaseTenant: {Username: leaseTenant, Token: leaseSAPIToken}},
	}, nil)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("double shutdown: %v", err)
		}
	})
	return d
}

// collectorConfig is a collector of leaseTenant reading double on loopback and
// keeping its state in the Redis at redisAddr.
func collectorConfig(redisAddr string, double *sapidouble.Server) *config.Config {
	cfg := config.Default()
	cfg.Redis.Addr = redisAddr
	cfg.Tenants = []config.Tenant{{
		Name: leaseTenant,
		SAPI: config.TenantSAPI{BaseURL: double.URL(), Username: leaseTenant, Token: leaseSAPIToken, SubscriptionID: "regal-bridge"},
	}}
	cfg.Collector.GRPCListen = "127.0.0.1:0"
	cfg.Collector.Store.KeyPrefix = "ct"
	return cfg
}

// lockedBuffer is a log sink the test reads while the collector writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningCollector is a started collector and its metrics.
type runningCollector struct {
	*collector.Collector
	tel *telemetry.Telemetry
}

// newCollector builds a collector; its Shutdown and its telemetry's run
// at the end of the test.
func newCollector(t *testing.T, cfg *config.Config, logs *lockedBuffer) *runningCollector {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "collector"})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	c, err := collector.New(cfg, logger, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("collector shutdown: %v", err)
		}
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("telemetry shutdown: %v", err)
		}
	})
	return &runningCollector{Collector: c, tel: tel}
}

// metric sums the collector's series of name with the given labels.
func (c *runningCollector) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	c.tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m, err := promtext.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return promtext.Sum(m, name, labels...)
}

func interactionEvent(i int) []byte {
	return fmt.Appendf(nil, `{"Interaction":{"event":"InteractionCreated","interactionGUID":"int-%d","interactionEventTS":%d}}`,
		i, 1724685483+i)
}

// TestCollector_bad_input_is_counted_kept_bounded_and_skipped sends frames
// that are not events through a real collector: each is counted by
// reason, kept in Redis as at most 4 KiB of its start with its full size,
// and skipped, and the valid event behind it is still admitted.
func TestCollector_bad_input_is_counted_kept_bounded_and_skipped(t *testing.T) {
	double := startDouble(t)
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	cfg := collectorConfig(redis.Addr, double)
	cfg.Collector.MaxEventBytes = 64 << 10
	c := newCollector(t, cfg, nil)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := double.WaitSubscribed(ctx, leaseTenant, 1); err != nil {
		t.Fatal(err)
	}

	bigValid := `{"Interaction":{"interactionGUID":"int-big","pad":"` + strings.Repeat("p", 200<<10) + `"}}`
	bigInvalid := `{"Interaction":{"interactionGUID":"int-bad","pad":"` + strings.Repeat("p", 30<<10) + "\xff\"}}"
	tests := []struct {
		name   string
		frame  string
		reason string
	}{
		{"invalid_utf8_in_a_field_value", "{\"Interaction\":{\"interactionGUID\":\"int-1\",\"agentId\":\"ag\xe9nt\"}}", "invalid utf-8"},
		{"invalid_utf8_in_a_key", "{\"Interaction\":{\"interactionGUID\":\"int-1\",\"\xc3\x28\":\"x\"}}", "invalid utf-8"},
		{"invalid_utf8_at_the_end_of_a_30_KiB_event", bigInvalid, "invalid utf-8"},
		{"frame_over_max_event_bytes", bigValid, "event larger than 65536 bytes"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.Stats()
			metricBefore := c.metric(t, "ccb_collector_frames_malformed_total", `reason="`+tt.reason+`"`)
			double.PublishRaw(leaseTenant, []byte(tt.frame+"\n"))
			if err := double.Publish(leaseTenant, interactionEvent(i)); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, "the valid event behind the bad frame admitted", func() bool {
				return c.Stats().Admitted == before.Admitted+1
			})
			after := c.Stats()
			if after.Malformed != before.Malformed+1 || after.Received != before.Received+1 {
				t.Errorf("malformed %d → %d, received %d → %d; want one more of each (the bad frame is no event)",
					before.Malformed, after.Malformed, before.Received, after.Received)
			}
			if got := c.metric(t, "ccb_collector_frames_malformed_total", `reason="`+tt.reason+`"`); got != metricBefore+1 {
				t.Errorf("ccb_collector_frames_malformed_total{reason=%q} = %v, want %v", tt.reason, got, metricBefore+1)
			}
			kept, err := c.Store().RecentMalformed(ctx, leaseTenant, 1)
			if err != nil || len(kept) != 1 {
				t.Fatalf("kept %v, %v", kept, err)
			}
			k := kept[0]
			if !strings.HasPrefix(tt.frame, string(k.Frame)) || len(k.Frame) != min(len(tt.frame), 4<<10) ||
				k.Size != len(tt.frame) || !strings.Contains(k.Reason, tt.reason) {
				t.Errorf("kept %d bytes (a prefix: %v) of size %d, reason %q; want the first %d bytes of %d, reason %q",
					len(k.Frame), strings.HasPrefix(tt.frame, string(k.Frame)), k.Size, k.Reason,
					min(len(tt.frame), 4<<10), len(tt.frame), tt.reason)
			}
		})
	}
}

// TestCollector_a_second_collector_on_a_served_tenant_refuses_to_start runs
// two real collectors for one tenant on one Redis: the second refuses,
// naming the first, and touches nothing; once the first shuts down, a new
// one starts at once.
func TestCollector_a_second_collector_on_a_served_tenant_refuses_to_start(t *testing.T) {
	double := startDouble(t)
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	config := func() *config.Config {
		cfg := collectorConfig(redis.Addr, double)
		// Renewed every 1.7 s: the second sees the first renew soon.
		cfg.Collector.Lease.TTL = 5 * time.Second
		return cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := newCollector(t, config(), nil)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := double.WaitSubscribed(ctx, leaseTenant, 1); err != nil {
		t.Fatal(err)
	}

	second := newCollector(t, config(), nil)
	err := second.Start(ctx)
	var held *lease.HeldError
	if !errors.As(err, &held) || held.Tenant != leaseTenant || held.Holder != first.Leases().Owner() {
		t.Fatalf("second Start = %v, want the tenant refused as held by %s", err, first.Leases().Owner())
	}
	want := "tenant " + leaseTenant + " is served by collector " + first.Leases().Owner() + " (lease held, expires in "
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; stop it first") {
		t.Errorf("refusal %q, want it to start %q", err, want)
	}
	if n := double.Subscribers(leaseTenant); n != 1 {
		t.Errorf("%d SAPI subscribers, want only the first collector's", n)
	}
	if !first.Leases().AllHeld() || second.Leases().AllHeld() {
		t.Errorf("leases held: first %v, second %v; want only the first", first.Leases().AllHeld(), second.Leases().AllHeld())
	}
	if got := first.metric(t, "ccb_collector_lease_held", `tenant="`+leaseTenant+`"`); got != 1 {
		t.Errorf("ccb_collector_lease_held = %v on the first collector, want 1", got)
	}

	// The first still serves the tenant.
	if err := double.Publish(leaseTenant, interactionEvent(1)); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the event admitted by the first collector", func() bool { return first.Stats().Admitted == 1 })

	// Shut down, it hands the tenant over at once: its lease is gone, not
	// waiting out its 5 s.
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rdb := redis.Client(t)
	if n := rdb.Exists(ctx, "ct:{"+leaseTenant+"}:lease").Val(); n != 0 {
		t.Fatal("the tenant's lease outlived the first collector's shutdown")
	}
	third := newCollector(t, config(), nil)
	if err := third.Start(ctx); err != nil {
		t.Fatalf("a collector started after the first shut down: %v", err)
	}
	if !third.Leases().Held(leaseTenant) {
		t.Error("the third collector does not hold the tenant's lease")
	}
}

// TestCollector_a_lost_lease_stops_the_tenant_stream: when a renewal finds
// another collector holding the tenant's lease, the tenant's SAPI stream
// stops, with an alert in the log and the metrics.
func TestCollector_a_lost_lease_stops_the_tenant_stream(t *testing.T) {
	double := startDouble(t)
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	cfg := collectorConfig(redis.Addr, double)
	cfg.Collector.Lease.TTL = time.Second
	logs := &lockedBuffer{}
	c := newCollector(t, cfg, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := double.WaitSubscribed(ctx, leaseTenant, 1); err != nil {
		t.Fatal(err)
	}
	rdb := redis.Client(t)
	if err := rdb.Set(ctx, "ct:{"+leaseTenant+"}:lease", `{"id":"9","host":"host-2","pid":4321}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the tenant's stream closed", func() bool { return double.Subscribers(leaseTenant) == 0 })
	if c.Leases().Held(leaseTenant) {
		t.Error("the lease is still reported held")
	}
	if !strings.Contains(logs.String(), "ALERT: another collector took over this tenant's lease") ||
		!strings.Contains(logs.String(), "host-2/pid 4321") {
		t.Errorf("no alert naming the new holder in the log:\n%s", logs)
	}
	if lost, held := c.metric(t, "ccb_collector_lease_lost_total", `tenant="`+leaseTenant+`"`),
		c.metric(t, "ccb_collector_lease_held", `tenant="`+leaseTenant+`"`); lost != 1 || held != 0 {
		t.Errorf("ccb_collector_lease_lost_total %v, ccb_collector_lease_held %v; want 1 and 0", lost, held)
	}
}
