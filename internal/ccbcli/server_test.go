package ccbcli_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/ccbcli"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
)

const (
	tenant = "acme"
	token  = "cli-test-token-0123456789"
	phone  = "+12015550111"
)

// service is a query service over a real redis-server holding one
// interaction: three events, the first delivered, the second skipped, the
// third dead-lettered (also in the event store, so it can be replayed).
type service struct {
	addr  string
	tl    *timeline.Store
	store *eventstore.Store
	base  time.Time
}

func startService(t *testing.T, tenants ...string) *service {
	t.Helper()
	if len(tenants) == 0 {
		tenants = []string{tenant}
	}
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	tl, err := timeline.New(rdb, timeline.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ecfg := eventstore.DefaultConfig()
	ecfg.Partitions = 2
	store, err := eventstore.New(rdb, ecfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &service{tl: tl, store: store, base: time.Now().Add(-30 * time.Minute).Truncate(time.Second)}
	s.load(t)
	var mu sync.Mutex
	svc, err := query.NewService(query.Options{Tenants: tenants, Timeline: tl, DeadLetters: store,
		Replay: func(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) ([]eventstore.DeadEntry, int, error) {
			mu.Lock()
			defer mu.Unlock()
			matched, err := store.DeadLetters(ctx, tenant, f, 0)
			if err != nil || dryRun {
				return matched, 0, err
			}
			replayed, err := store.Replay(ctx, matched)
			return matched, len(replayed), err
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := query.Serve(query.ServerConfig{Listen: "127.0.0.1:0", Auth: grpcauth.ServerConfig{Tokens: []secret.Secret{token}}}, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	s.addr = srv.Addr()
	return s
}

func (s *service) event(dedup, eventType string, offset time.Duration) *eventv1.Event {
	campaign, queue := int64(61), int64(110)
	at := s.base.Add(offset)
	return &eventv1.Event{Tenant: tenant, InteractionId: "int-1", Family: "Interaction", EventType: eventType, DedupKey: dedup,
		OrderKey: "int-1", OccurredAt: timestamppb.New(at), ReceivedAt: timestamppb.New(at),
		Interaction: &eventv1.InteractionFields{CustomerPhone: phone, CampaignId: &campaign, QueueId: &queue, AgentId: "agent-7"},
		Raw:         []byte(`{"Interaction":{"event":"` + eventType + `"}}`)}
}

func (s *service) load(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	evs := []*eventv1.Event{
		s.event("0000000000000000000000000000000a", "InteractionCreated", 0),
		s.event("0000000000000000000000000000000b", "InteractionEndPostProcess", time.Second),
		s.event("0000000000000000000000000000000c", "InteractionDeleted", 2*time.Second),
	}
	adm, err := s.store.Admit(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	var changes []timeline.Change
	for _, a := range adm {
		changes = append(changes, timeline.Change{Type: timeline.ChangeReceived, At: a.Entry.Event.GetReceivedAt().AsTime(),
			Event: a.Entry.Event, Payload: a.Entry.Payload, Verdict: a.Verdict})
	}
	at := s.base.Add(time.Minute)
	changes = append(changes,
		timeline.Change{Type: timeline.ChangeDelivered, At: at, Event: evs[0], RegalStatus: 200, Attempts: 1},
		timeline.Change{Type: timeline.ChangeSkipped, At: at, Event: evs[1], Reason: "unmapped_event"},
		timeline.Change{Type: timeline.ChangeDeadLettered, At: at, Event: evs[2], RegalStatus: 401, Attempts: 1, Reason: "regal 401: bad key"})
	if err := s.tl.Record(ctx, changes); err != nil {
		t.Fatal(err)
	}
	if err := s.store.Settle(ctx, []eventstore.Settlement{{Entry: adm[0].Entry}, {Entry: adm[1].Entry},
		{Entry: adm[2].Entry, Dead: &eventstore.DeadLetter{Reason: "regal 401: bad key", Attempts: 1, Status: 401, At: at}}}); err != nil {
		t.Fatal(err)
	}
}

// run runs the CLI against the service and returns its exit code and
// outputs.
func (s *service) run(ctx context.Context, env map[string]string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := s.runTo(ctx, env, &stdout, &stderr, args...)
	return code, stdout.String(), stderr.String()
}

// runTo runs the CLI against the service, writing to stdout and stderr,
// and returns its exit code.
func (s *service) runTo(ctx context.Context, env map[string]string, stdout, stderr io.Writer, args ...string) int {
	lookup := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return map[string]string{"CCB_ADDR": s.addr, "CCB_TOKEN": token}[k]
	}
	return ccbcli.Run(ctx, args, stdout, stderr, lookup)
}

// syncBuffer is a buffer one goroutine writes while another reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
