package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ccbridge/bridge/collector/delivery"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
)

const (
	tokenA = "delivery-token-a-0123456789"
	tokenB = "delivery-token-b-0123456789"
)

// fixture is a DeliveryService over a real scheduler and a real Redis
// event store, on a loopback TCP port.
type fixture struct {
	store *eventstore.Store
	sched *scheduler.Scheduler
	addr  string
}

func start(t *testing.T, auth grpcauth.ServerConfig, opts ...delivery.Option) *fixture {
	t.Helper()
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	store, err := eventstore.New(rdb, eventstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := scheduler.DefaultConfig()
	cfg.RetryDelayMin, cfg.RetryDelayMax = time.Millisecond, 10*time.Millisecond
	sched, err := scheduler.New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	authOpts, err := grpcauth.ServerOptions(auth)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(authOpts...)
	deliveryv1.RegisterDeliveryServiceServer(srv, delivery.NewServer(sched, noop.NewTracerProvider().Tracer(""), slog.New(slog.DiscardHandler), opts...))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		_ = sched.Shutdown(context.Background())
		srv.Stop()
		<-served
	})
	return &fixture{store: store, sched: sched, addr: lis.Addr().String()}
}

// admit stores n events of distinct interactions and schedules them.
func (f *fixture) admit(t *testing.T, n int) {
	t.Helper()
	events := make([]*eventv1.Event, n)
	for i := range events {
		id := fmt.Sprintf("int-%d", i)
		events[i] = &eventv1.Event{Tenant: "acme", InteractionId: id, OrderKey: id, EventType: "InteractionCreated",
			DedupKey: fmt.Sprintf("dedup-%d-%d", i, time.Now().UnixNano())}
	}
	adm, err := f.store.Admit(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]eventstore.Entry, 0, n)
	for _, a := range adm {
		if a.Verdict == eventstore.VerdictNew {
			entries = append(entries, a.Entry)
		}
	}
	if err := f.sched.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
}

// stream is one raw Subscribe stream, as any gRPC client could open it.
type stream struct {
	deliveryv1.DeliveryService_SubscribeClient
	cancel context.CancelFunc
}

// subscribe opens a stream with token (none when empty) and sends a Hello
// with id. accepted says whether the collector sent its session header.
func (f *fixture) subscribe(t *testing.T, token, id string) (s *stream, accepted bool) {
	t.Helper()
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if token != "" {
		ctx = metadataWithToken(ctx, token)
	}
	c, err := deliveryv1.NewDeliveryServiceClient(conn).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Send(&deliveryv1.SubscribeRequest{Kind: &deliveryv1.SubscribeRequest_Hello{Hello: &deliveryv1.Hello{DispatcherId: id, MaxInFlight: 16}}})
	md, err := c.Header()
	accepted = err == nil && len(md.Get(delivery.SessionHeader)) == 1
	return &stream{DeliveryService_SubscribeClient: c, cancel: cancel}, accepted
}

// refusal returns the status the collector ended s with.
func refusal(t *testing.T, s *stream) *status.Status {
	t.Helper()
	resp, err := s.Recv()
	if err == nil {
		t.Fatalf("a refused stream received %v", resp)
	}
	return status.Convert(err)
}

func TestASecondStreamClaimingALiveDispatcherIDIsRefused(t *testing.T) {
	tests := []struct {
		name                   string
		auth                   grpcauth.ServerConfig
		firstToken, rivalToken string
	}{
		{"without_tokens", grpcauth.ServerConfig{}, "", ""},
		{"with_the_same_token", grpcauth.ServerConfig{Tokens: []secret.Secret{tokenA, tokenB}}, tokenA, tokenA},
		{"with_another_valid_token", grpcauth.ServerConfig{Tokens: []secret.Secret{tokenA, tokenB}}, tokenA, tokenB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, tt.auth)
			first, ok := f.subscribe(t, tt.firstToken, "dispatcher-1")
			if !ok {
				t.Fatalf("first stream not accepted: %v", refusal(t, first))
			}
			rival, ok := f.subscribe(t, tt.rivalToken, "dispatcher-1")
			if ok {
				t.Fatal("a second stream claiming a live dispatcher id was accepted")
			}
			st := refusal(t, rival)
			if st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), "held by another live stream") {
				t.Fatalf("rival refused with %v, want AlreadyExists naming the live stream", st)
			}
			// Every event goes to the holder of the id.
			f.admit(t, 3)
			for range 3 {
				resp, err := first.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if resp.GetDelivery().GetRedelivery() != 0 {
					t.Fatalf("delivery %d is a redelivery", resp.GetDelivery().GetDeliveryId())
				}
			}
			// The id is free once its stream ends: the unacknowledged
			// deliveries go to the next stream that claims it.
			first.cancel()
			var next *stream
			poll.Until(t, "the id freed after its stream ended", func() bool {
				s, ok := f.subscribe(t, tt.firstToken, "dispatcher-1")
				if ok {
					next = s
					return true
				}
				if st := refusal(t, s); st.Code() != codes.AlreadyExists {
					t.Fatalf("a second stream with the id: %v, want AlreadyExists until the first has ended", st)
				}
				return false
			})
			for range 3 {
				resp, err := next.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if resp.GetDelivery().GetRedelivery() != 1 {
					t.Fatalf("delivery %d: redelivery %d, want 1", resp.GetDelivery().GetDeliveryId(), resp.GetDelivery().GetRedelivery())
				}
			}
		})
	}
}

func TestStreamsWithoutAValidTokenReceiveNothing(t *testing.T) {
	f := start(t, grpcauth.ServerConfig{Tokens: []secret.Secret{tokenA}})
	f.admit(t, 2)
	tests := []struct {
		name, token string
	}{
		{"no_token", ""},
		{"wrong_token", "not-the-delivery-token-0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rogue, ok := f.subscribe(t, tt.token, "dispatcher-1")
			if ok {
				t.Fatal("a stream without a valid token was accepted")
			}
			if st := refusal(t, rogue); st.Code() != codes.Unauthenticated {
				t.Fatalf("refused with %v, want Unauthenticated", st)
			}
		})
	}
	// The events were never handed out: the legitimate dispatcher gets
	// them as first deliveries.
	legit, ok := f.subscribe(t, tokenA, "dispatcher-1")
	if !ok {
		t.Fatalf("legitimate stream refused: %v", refusal(t, legit))
	}
	for range 2 {
		resp, err := legit.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.GetDelivery().GetRedelivery(); r != 0 {
			t.Fatalf("redelivery %d: a rogue stream took the event first", r)
		}
	}
}

func TestMalformedDispatcherIDsAreRefused(t *testing.T) {
	f := start(t, grpcauth.ServerConfig{})
	tests := []struct {
		name, id, message string
	}{
		{"empty", "", "dispatcher_id"},
		{"too_long", strings.Repeat("d", delivery.MaxDispatcherIDBytes+1), "longer than"},
		{"with_a_space", "dispatcher 1", "without spaces"},
		{"with_a_control_character", "dispatcher\x1b1", "printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := f.subscribe(t, "", tt.id)
			if ok {
				t.Fatal("accepted")
			}
			if st := refusal(t, s); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.message) {
				t.Fatalf("refused with %v, want InvalidArgument mentioning %q", st, tt.message)
			}
		})
	}
}

// metadataWithToken adds the bearer token to ctx's outgoing metadata.
func metadataWithToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// TestWithOnSentIsToldOfEachDeliverySent: the hook hears of every delivery
// handed to a dispatcher, with the dispatcher's id and the redelivery.
func TestWithOnSentIsToldOfEachDeliverySent(t *testing.T) {
	type sent struct {
		interaction, dispatcher string
		redelivery              int
	}
	told := make(chan sent, 8)
	f := start(t, grpcauth.ServerConfig{}, delivery.WithOnSent(func(e eventstore.Entry, dispatcher string, redelivery int) {
		told <- sent{e.Event.GetInteractionId(), dispatcher, redelivery}
	}))
	s, accepted := f.subscribe(t, "", "dispatcher-1")
	if !accepted {
		t.Fatal("the stream was not accepted")
	}
	f.admit(t, 2)
	got := map[string]sent{}
	for range 2 {
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		select {
		case x := <-told:
			got[x.interaction] = x
		case <-time.After(5 * time.Second):
			t.Fatal("the hook was not told of a delivery sent")
		}
	}
	for _, id := range []string{"int-0", "int-1"} {
		if want := (sent{id, "dispatcher-1", 0}); got[id] != want {
			t.Errorf("told %+v for %s, want %+v", got[id], id, want)
		}
	}
}
