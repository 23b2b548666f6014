package e2e

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/dispatcher"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/telemetry"
	"github.com/ccbridge/bridge/test/stack"
)

// TestAPausedCollectorIsFencedAfterATakeover: collector A serves the
// tenant; its lease lapses in Redis while A notices nothing (as when the
// process is paused past the TTL); collector B takes the tenant over and
// delivers. When A goes on, the writes it attempts are refused (counted),
// it stops serving the tenant, and Regal receives every event of the call
// once and in order: none twice or out of order because of A.
func TestAPausedCollectorIsFencedAfterATakeover(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startStackOn(t, stack.Options{RedisAddr: redis.Addr, KeyPrefix: "fence", Dispatchers: 1,
		// Renewed every 10 s: A's renewals do not find B during the test;
		// only the fence stops A.
		Mutate: func(c *config.Config) { c.Collector.Lease.TTL = 30 * time.Second }})
	a := s.Collector
	call := scriptedFlows()[1]
	half := len(call.Events) / 2
	if err := s.SAPI.Publish(tenant, call.Events[:half]...); err != nil {
		t.Fatal(err)
	}
	firstHalf := expect(t, call.Events[:half])
	if err := s.Regal.WaitCount(ctx, len(firstHalf)); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	oldToken, ok := a.Leases().Token(tenant)
	if !ok {
		t.Fatal("A does not hold the tenant's lease")
	}

	// A's lease lapses in Redis (deleted, as its TTL would run out while
	// A is paused); A's own clock has not run out. B starts on the same
	// Redis and SAPI (its own subscription, so that 8x8 streams to both)
	// and takes the tenant.
	bcfg := *s.Config
	bcfg.Tenants = slices.Clone(s.Config.Tenants)
	bcfg.Tenants[0].SAPI.SubscriptionID = "regal-bridge-b"
	b := startTakeover(ctx, t, s, &bcfg)
	newToken, _ := b.Leases().Token(tenant)
	if newToken <= oldToken {
		t.Fatalf("B's token %d, want above A's %d", newToken, oldToken)
	}
	if !a.Leases().Held(tenant) {
		t.Fatal("A noticed the takeover by itself: the test means to show the fence stops it")
	}
	// The SAPI double streams an event only to the subscriptions it has
	// seen: B's must be open before the second half is published.
	poll.Until(t, "B's SAPI stream open beside A's", func() bool { return s.SAPI.Subscribers(tenant) == 2 })

	// A goes on: the second half reaches both A and B. A's admission is
	// refused, and A stops serving the tenant.
	if err := s.SAPI.Publish(tenant, call.Events[half:]...); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "A drops the tenant after a refused write", func() bool { return a.Scheduler().Dropped(tenant) })
	select {
	case <-a.Lost(): // its command exits on this, to be restarted
	default:
		t.Fatal("A dropped the tenant but does not report it lost")
	}
	m := scrapeUntil(t, "http://"+s.Metrics["collector"].Addr(), func(m map[string]float64) bool {
		return sum(m, "ccb_collector_fenced_writes_total", `tenant="`+tenant+`"`) > 0
	})
	if n := sum(m, "ccb_collector_fenced_writes_total", `tenant="`+tenant+`"`); n < 1 {
		t.Fatalf("ccb_collector_fenced_writes_total %v on A, want at least 1", n)
	}
	// Any write A attempts now is refused, whatever it is.
	ev := &eventv1.Event{Tenant: tenant, OrderKey: "x", InteractionId: "x", DedupKey: "fenced-probe", EventType: "InteractionCreated"}
	if _, err := a.Store().Admit(ctx, []*eventv1.Event{ev}); !errors.Is(err, eventstore.ErrFenced) {
		t.Fatalf("A's admission after the takeover: %v, want ErrFenced", err)
	}
	poll.Until(t, "A's SAPI stream closed (only B reads the tenant)", func() bool { return s.SAPI.Subscribers(tenant) == 1 })

	// Regal has the whole call once, in order: the first half from A, the
	// second from B.
	want := expect(t, call.Events)
	if err := s.Regal.WaitCount(ctx, len(want)); err != nil {
		t.Fatalf("Regal received %d of %d events: %v", s.Regal.Count(), len(want), err)
	}
	poll.Until(t, "B idle", func() bool { return b.Scheduler().Stats().Buffered == 0 })
	got := s.Regal.Received()
	var gotNames, wantNames []string
	for _, r := range got {
		gotNames = append(gotNames, r.Event.Name)
	}
	for _, e := range want {
		wantNames = append(wantNames, regalName(e.event))
	}
	if !slices.Equal(gotNames, wantNames) {
		t.Fatalf("Regal received %v, want %v (once each, in order)", gotNames, wantNames)
	}
}

// startTakeover makes the tenant's lease lapse and starts collector B with
// cfg and a dispatcher of its own sending to the stack's Regal; both stop
// at the end of the test, before the stack.
func startTakeover(ctx context.Context, t *testing.T, s *stack.Stack, cfg *config.Config) *collector.Collector {
	t.Helper()
	cfg.Collector.GRPCListen = "127.0.0.1:0"
	cfg.Collector.Query.Listen = "127.0.0.1:0"
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "collector"})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redisClient(t, cfg.Redis.Addr)
	var b *collector.Collector
	for attempt := 0; ; attempt++ {
		if err := rdb.Del(ctx, cfg.Collector.Store.KeyPrefix+":{"+tenant+"}:lease").Err(); err != nil {
			t.Fatal(err)
		}
		b, err = collector.New(cfg, slog.New(slog.DiscardHandler), tel)
		if err != nil {
			t.Fatal(err)
		}
		err = b.Start(ctx)
		var held *lease.HeldError
		if err == nil {
			break
		}
		_ = b.Shutdown(ctx)
		// A renewal of A may have taken the lapsed lease again between the
		// delete and B's acquisition: lapse it again.
		if !errors.As(err, &held) || attempt == 3 {
			t.Fatalf("B's start: %v", err)
		}
	}
	dcfg := *cfg
	dcfg.Dispatcher.CollectorAddr = b.Addr()
	dcfg.Dispatcher.ID = "dispatcher-b"
	dtel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dispatcher.New(&dcfg, slog.New(slog.DiscardHandler), dtel)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("dispatcher b shutdown: %v", err)
		}
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("collector b shutdown: %v", err)
		}
		_ = dtel.Shutdown(ctx)
		_ = tel.Shutdown(ctx)
	})
	poll.Until(t, "B's dispatcher subscribed", func() bool { return b.Scheduler().Stats().Sessions == 1 })
	return b
}

func redisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
