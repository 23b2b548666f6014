package query_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/delivery"
	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

const (
	tenant     = "acmecorp01"
	queryToken = "query-token-for-tests-0123456789"
	regalKey   = "regal-key-for-tests"
)

// harness is the collector's path of an event without its SAPI reader,
// wired the way the collector wires the timeline: scripted SAPI lines are
// decoded (collector/sapi), admitted to a real redis-server
// (collector/eventstore), recorded (timeline.Recorder.Admitted), scheduled
// (collector/scheduler, whose settlements are recorded with
// Recorder.Settled), streamed over real gRPC (collector/delivery) to a real
// dispatcher, which sends them to the Regal double. Replays run as the
// collector's ReplayDeadLetters does: list, revive, Recorder.Replayed,
// enqueue, in the admitter's order. The QueryService is served over
// loopback TCP with a bearer token.
type harness struct {
	rdb    *redis.Client
	store  *eventstore.Store
	tl     *timeline.Store
	rec    *timeline.Recorder
	sched  *scheduler.Scheduler
	regal  *regaldouble.Server
	query  *query.Server
	client queryv1.QueryServiceClient
	conn   *grpc.ClientConn

	admitMu sync.Mutex // the admitter: admissions and replays reach the scheduler in order
	traceN  int
	// stored is when the last publish's events were in Redis (Admit
	// returned): the start of a watch latency.
	stored time.Time
}

type harnessOptions struct {
	// Dispatch runs a dispatcher and the Regal double; without it events
	// stay pending.
	Dispatch bool
	// WatchBuffer is the query service's per-watcher buffer.
	WatchBuffer int
}

func startHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{rdb: redistest.Start(t, redistest.Options{}).Client(t)}
	scfg := eventstore.DefaultConfig()
	scfg.KeyPrefix, scfg.Partitions = "qt", 4
	var err error
	if h.store, err = eventstore.New(h.rdb, scfg); err != nil {
		t.Fatal(err)
	}
	tcfg := timeline.DefaultConfig()
	tcfg.KeyPrefix = "qt"
	if h.tl, err = timeline.New(h.rdb, tcfg); err != nil {
		t.Fatal(err)
	}
	// Queues large enough for every test's script: a change dropped on a
	// loaded machine would leave waitRecorded waiting for it.
	if h.rec, err = timeline.NewRecorder(h.tl, timeline.RecorderOptions{QueueSize: 1 << 17, QueueBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.rec.Close(ctx) })
	schedCfg := scheduler.DefaultConfig()
	schedCfg.RetryDelayMin, schedCfg.RetryDelayMax = 10*time.Millisecond, 50*time.Millisecond
	// Without Dispatch nothing settles: the buffer holds every event a
	// test publishes, beyond the default byte bound (the publisher would
	// wait for space forever).
	schedCfg.MaxBufferedBytes = 1 << 30
	// The harness replays by moving letters back (below), as under skip.
	schedCfg.DeadLetterPolicy = scheduler.PolicySkip
	if h.sched, err = scheduler.New(schedCfg, h.store, h.rec.Settled); err != nil {
		t.Fatal(err)
	}
	_ = h.sched.Start(ctx)
	t.Cleanup(func() { _ = h.sched.Shutdown(ctx) })
	if o.Dispatch {
		h.startDelivery(t)
	}

	svc, err := query.NewService(query.Options{Tenants: []string{tenant}, Timeline: h.tl, DeadLetters: h.store,
		Replay: h.replay, WatchBuffer: o.WatchBuffer})
	if err != nil {
		t.Fatal(err)
	}
	h.query, err = query.Serve(query.ServerConfig{Listen: "127.0.0.1:0",
		Auth: grpcauth.ServerConfig{Tokens: []secret.Secret{queryToken}}}, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = h.query.Shutdown(sctx)
	})
	h.conn = dialQuery(t, h.query.Addr(), queryToken)
	h.client = queryv1.NewQueryServiceClient(h.conn)
	return h
}

// startDelivery serves the DeliveryService and starts a dispatcher and the
// Regal double.
func (h *harness) startDelivery(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	deliveryv1.RegisterDeliveryServiceServer(srv, delivery.NewServer(h.sched, noop.NewTracerProvider().Tracer(""), slog.New(slog.DiscardHandler)))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	h.regal = regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{regalKey}}, slog.New(slog.DiscardHandler))
	if err := h.regal.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.regal.Shutdown(ctx) })

	cfg := config.Default()
	cfg.Tenants = []config.Tenant{{Name: tenant, Regal: config.TenantRegal{APIKey: regalKey}}}
	cfg.Dispatcher.CollectorAddr = lis.Addr().String()
	cfg.Dispatcher.ID = "dispatcher-1"
	cfg.Dispatcher.Regal.BaseURL = h.regal.URL()
	cfg.Dispatcher.Regal.RateLimit = 0
	cfg.Dispatcher.Regal.MaxAttempts = 1
	cfg.Dispatcher.ShutdownGrace = time.Second
	cfg.Telemetry.PhoneHashSalt = "test-phone-hash-salt"
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(ctx) })
	d, err := dispatcher.New(cfg, slog.New(slog.DiscardHandler), tel)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = h.sched.Drain(sctx)
		_ = d.Shutdown(sctx)
	})
}

// publish admits SAPI lines as the collector's pipeline does, each
// received at its time; duplicates (the same line again) are allowed.
func (h *harness) publish(t *testing.T, lines []line) []eventstore.Admission {
	t.Helper()
	h.admitMu.Lock()
	defer h.admitMu.Unlock()
	events := make([]*eventv1.Event, 0, len(lines))
	for _, l := range lines {
		ev, err := sapi.Decode(l.raw, tenant, "regal-bridge", l.at)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		h.traceN++
		ev.TraceContext = map[string]string{"traceparent": fmt.Sprintf("00-%032x-%016x-01", traceOf(ev.GetInteractionId()), h.traceN)}
		events = append(events, ev)
	}
	ctx := context.Background()
	adm, err := h.store.Admit(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	h.stored = time.Now()
	h.rec.Admitted(adm)
	var entries []eventstore.Entry
	for _, a := range adm {
		if a.Verdict != eventstore.VerdictDuplicate {
			entries = append(entries, a.Entry)
		}
	}
	if err := h.sched.Enqueue(ctx, entries); err != nil {
		t.Fatal(err)
	}
	return adm
}

// replay is the collector's ReplayDeadLetters.
func (h *harness) replay(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) ([]eventstore.DeadEntry, int, error) {
	h.admitMu.Lock()
	defer h.admitMu.Unlock()
	matched, err := h.store.DeadLetters(ctx, tenant, f, 0)
	if err != nil || dryRun {
		return matched, 0, err
	}
	replayed, err := h.store.Replay(ctx, matched)
	if err != nil {
		return matched, 0, err
	}
	entries := make([]eventstore.Entry, len(replayed))
	for i, r := range replayed {
		entries[i] = r.Entry
	}
	h.rec.Replayed(entries)
	return matched, len(entries), h.sched.Enqueue(context.Background(), entries)
}

// waitRecorded waits until the recorder has written every change queued.
func (h *harness) waitRecorded(t *testing.T, n int64) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("the recorder to write %d changes", n), func() bool {
		st := h.rec.Stats()
		if st.Dropped > 0 || st.Failed > 0 {
			t.Fatalf("the recorder dropped %d and failed %d changes: the test's queue is too small", st.Dropped, st.Failed)
		}
		return st.Recorded >= n
	})
}

// line is one SAPI line and when the collector received it.
type line struct {
	raw []byte
	at  time.Time
}

// traceOf gives every event of an interaction the same trace id.
func traceOf(interaction string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(interaction); i++ {
		h = (h ^ uint64(interaction[i])) * 1099511628211
	}
	return h
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
