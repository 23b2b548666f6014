package subscriber

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/ccbridge/bridge/collector/delivery"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/poll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// settleSink records durable settlements, as Redis would.
type settleSink struct {
	mu  sync.Mutex
	got []eventstore.Settlement
}

func (k *settleSink) Settle(_ context.Context, sts []eventstore.Settlement) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = append(k.got, sts...)
	return nil
}

func (k *settleSink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.got)
}

// collectorFixture is the real delivery server and scheduler over bufconn.
type collectorFixture struct {
	sched *scheduler.Scheduler
	sink  *settleSink
	conn  *grpc.ClientConn
	// dial opens another connection to the collector; the caller closes it.
	dial func(t testing.TB) *grpc.ClientConn
}

func startCollector(t *testing.T) *collectorFixture {
	return startCollectorWith(t, 0)
}

func startCollectorWith(t *testing.T, maxAge time.Duration) *collectorFixture {
	return startCollectorTB(t, maxAge)
}

func startCollectorB(b *testing.B) *collectorFixture { return startCollectorTB(b, 0) }

func startCollectorTB(t testing.TB, maxAge time.Duration) *collectorFixture {
	t.Helper()
	sink := &settleSink{}
	cfg := scheduler.DefaultConfig()
	cfg.RetryDelayMin, cfg.RetryDelayMax = time.Millisecond, 10*time.Millisecond
	sched, err := scheduler.New(cfg, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	ds := delivery.NewServer(sched, noop.NewTracerProvider().Tracer(""), slog.New(slog.DiscardHandler), delivery.WithMaxAge(maxAge))
	deliveryv1.RegisterDeliveryServiceServer(srv, ds)
	go func() { _ = srv.Serve(lis) }()
	dial := func(t testing.TB) *grpc.ClientConn {
		conn, err := grpc.NewClient("passthrough:///bufnet",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	conn := dial(t)
	t.Cleanup(func() {
		_ = conn.Close()
		_ = sched.Shutdown(context.Background())
		srv.Stop()
	})
	return &collectorFixture{sched: sched, sink: sink, conn: conn, dial: dial}
}

var n int

func (f *collectorFixture) enqueue(t *testing.T, keys ...string) { f.enqueueB(t, keys...) }

func (f *collectorFixture) enqueueB(t testing.TB, keys ...string) {
	t.Helper()
	var entries []eventstore.Entry
	for _, k := range keys {
		n++
		entries = append(entries, eventstore.Entry{Ref: eventstore.Ref{Tenant: "acme", ID: fmt.Sprintf("%d-0", n)},
			Event: &eventv1.Event{OrderKey: k, InteractionId: k}})
	}
	if err := f.sched.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
}

func delivered(context.Context, *deliveryv1.Delivery) *deliveryv1.Ack {
	return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_DELIVERED, Attempts: 1, RegalStatus: 200}
}

func TestDeliveriesAreHandledAndAcknowledged(t *testing.T) {
	f := startCollector(t)
	sub := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 4}, delivered, slog.New(slog.DiscardHandler))
	if err := sub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "a", "b", "a", "c", "a")
	poll.Until(t, "5 settlements", func() bool { return f.sink.count() == 5 })
	if err := sub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sub.Stats(); st.Deliveries != 5 || st.Acks != 5 || st.Streams != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGracefulShutdownFinishesInFlightWork(t *testing.T) {
	f := startCollector(t)
	started := make(chan struct{})
	release := make(chan struct{})
	handler := func(ctx context.Context, d *deliveryv1.Delivery) *deliveryv1.Ack {
		close(started)
		<-release
		return delivered(ctx, d)
	}
	sub := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 1}, handler, slog.New(slog.DiscardHandler))
	if err := sub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "a")
	<-started
	done := make(chan error, 1)
	go func() { done <- sub.Shutdown(context.Background()) }()
	poll.Until(t, "the shutdown to begin", sub.stopping)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Shutdown returns once the ack is sent; the collector settles it on
	// its own schedule (settle_linger), so wait for that, within bounds.
	poll.Until(t, "the in-flight delivery settled", func() bool { return f.sink.count() == 1 })
}

func TestShutdownGraceOverCancelsWorkAndEventIsDeliveredAgain(t *testing.T) {
	f := startCollector(t)
	started := make(chan struct{}, 1)
	stuck := func(ctx context.Context, d *deliveryv1.Delivery) *deliveryv1.Ack {
		started <- struct{}{}
		<-ctx.Done()
		return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE, Reason: "stopped"}
	}
	first := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 1}, stuck, slog.New(slog.DiscardHandler))
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "a")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := first.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown past its grace should say so")
	}
	second := New(f.conn, Config{DispatcherID: "d2", MaxInFlight: 1}, delivered, slog.New(slog.DiscardHandler))
	if err := second.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "redelivery to the second dispatcher", func() bool { return f.sink.count() == 1 })
	if err := second.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownBeforeStartIsSafeAndIdempotent(t *testing.T) {
	f := startCollector(t)
	sub := New(f.conn, Config{DispatcherID: "d1"}, delivered, slog.New(slog.DiscardHandler))
	for range 2 {
		if err := sub.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAgedStreamsReconnectWithoutRedelivery(t *testing.T) {
	f := startCollectorWith(t, 40*time.Millisecond)
	var mu sync.Mutex
	redelivered := 0
	handler := func(ctx context.Context, d *deliveryv1.Delivery) *deliveryv1.Ack {
		mu.Lock()
		if d.GetRedelivery() > 0 {
			redelivered++
		}
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // a Regal request takes a while: work in flight as a stream ages
		return delivered(ctx, d)
	}
	sub := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 4}, handler, slog.New(slog.DiscardHandler))
	if err := sub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const total = 60
	for i := range total {
		f.enqueue(t, fmt.Sprint("k", i%7))
		time.Sleep(3 * time.Millisecond) // a trickle spanning several stream lifetimes
	}
	poll.Until(t, "every delivery settled", func() bool { return f.sink.count() == total })
	if err := sub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sub.Stats(); st.Streams < 2 {
		t.Fatalf("streams %d, want the stream to have aged out and reopened", st.Streams)
	}
	if redelivered != 0 {
		t.Fatalf("%d deliveries were redelivered across stream ageing, want 0", redelivered)
	}
}

// TestPrefetchedDeliveriesWaitForAFreeHandler checks the window: the
// collector sends MaxInFlight + Prefetch deliveries ahead of their acks,
// and no more than MaxInFlight handlers run at once.
func TestPrefetchedDeliveriesWaitForAFreeHandler(t *testing.T) {
	tests := []struct {
		name                  string
		maxInFlight, prefetch int
	}{
		{"without_prefetch_the_window_is_max_in_flight", 2, 0},
		{"prefetch_widens_the_window_not_the_handlers", 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startCollector(t)
			release := make(chan struct{})
			var mu sync.Mutex
			running, most := 0, 0
			handler := func(ctx context.Context, d *deliveryv1.Delivery) *deliveryv1.Ack {
				mu.Lock()
				running++
				most = max(most, running)
				mu.Unlock()
				<-release
				mu.Lock()
				running--
				mu.Unlock()
				return delivered(ctx, d)
			}
			sub := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: tt.maxInFlight, Prefetch: tt.prefetch}, handler, slog.New(slog.DiscardHandler))
			if err := sub.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 10)
			for i := range keys {
				keys[i] = fmt.Sprintf("interaction-%d", i)
			}
			f.enqueue(t, keys...)
			window := tt.maxInFlight + tt.prefetch
			poll.Until(t, "a full window", func() bool { return sub.Stats().Deliveries == window })
			// Nothing beyond the window arrives while every handler waits:
			// an absence, so it is given time to show.
			time.Sleep(50 * time.Millisecond)
			if got := sub.Stats().Deliveries; got != window {
				t.Fatalf("%d deliveries received before any ack, want the window of %d", got, window)
			}
			close(release)
			poll.Until(t, "every settlement", func() bool { return f.sink.count() == len(keys) })
			if err := sub.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if most != tt.maxInFlight {
				t.Errorf("at most %d handlers ran at once, want %d (max_in_flight)", most, tt.maxInFlight)
			}
		})
	}
}
