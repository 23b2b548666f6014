package query_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
)

// Size of the benchmark's store: a week of a busy contact center.
const (
	benchEvents = 1_000_000
	benchPhones = 25_000
)

// BenchmarkListInteractionsByPhone stores 1,000,000 events (about 125,000
// scripted calls over six days, 25,000 customer phones) through the
// timeline's write path, reports the Redis memory per stored event, then
// measures ListInteractions by phone over gRPC (with its token check) and
// reports the latency percentiles. Loading takes a minute or two:
//
//	go test -run '^$' -bench ListInteractionsByPhone -benchtime 2000x ./collector/query/
func BenchmarkListInteractionsByPhone(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b, redistest.Options{}).Client(b)
	tl, err := timeline.New(rdb, timeline.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	before := usedMemory(b, rdb)
	start := time.Now()
	stored := loadEvents(b, tl)
	loaded := time.Since(start)
	perEvent := float64(usedMemory(b, rdb)-before) / float64(stored)
	keys, _ := rdb.DBSize(ctx).Result()
	b.Logf("stored %d events in %v (%.0f events/s); Redis keys %d; Redis memory %.0f bytes/event",
		stored, loaded.Round(time.Second), float64(stored)/loaded.Seconds(), keys, perEvent)

	svc, err := query.NewService(query.Options{Tenants: []string{tenant}, Timeline: tl, DeadLetters: noDeadLetters{},
		Replay: func(context.Context, string, eventstore.DeadLetterFilter, bool) ([]eventstore.DeadEntry, int, error) {
			return nil, 0, nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := query.Serve(query.ServerConfig{Listen: "127.0.0.1:0", Auth: grpcauth.ServerConfig{Tokens: []secret.Secret{queryToken}}}, svc)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(ctx) }()
	client := queryv1.NewQueryServiceClient(dialQuery(b, srv.Addr(), queryToken))

	for _, bc := range []struct {
		name   string
		filter func(phone string) *queryv1.Filter
	}{
		{"phone", func(p string) *queryv1.Filter { return &queryv1.Filter{PhoneNumber: p} }},
		{"phone_last_24h", func(p string) *queryv1.Filter {
			return &queryv1.Filter{PhoneNumber: p, StartTime: timestamppb.New(time.Now().Add(-24 * time.Hour))}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			latencies := make([]time.Duration, 0, b.N)
			found := 0
			b.ResetTimer()
			for range b.N {
				req := &queryv1.ListInteractionsRequest{Parent: "tenants/" + tenant, Filter: bc.filter(benchPhone(r.IntN(benchPhones))), PageSize: 50}
				t0 := time.Now()
				resp, err := client.ListInteractions(ctx, req)
				latencies = append(latencies, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				found += len(resp.GetInteractions())
			}
			b.StopTimer()
			slices.Sort(latencies)
			pct := func(p int) float64 { return float64(latencies[(len(latencies)-1)*p/100]) / float64(time.Millisecond) }
			b.ReportMetric(pct(50), "p50-ms")
			b.ReportMetric(pct(99), "p99-ms")
			b.ReportMetric(float64(found)/float64(b.N), "interactions/op")
			b.ReportMetric(perEvent, "redis-B/event")
		})
	}
}

// loadEvents stores benchEvents events: scripted calls with fresh ids,
// phones and receive times, recorded as admitted and then delivered, from
// as many goroutines as CPUs.
func loadEvents(b *testing.B, tl *timeline.Store) int {
	b.Helper()
	templates := benchTemplates(b)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			var batch []timeline.Change
			n := 0
			flush := func() {
				if err := tl.Record(context.Background(), batch); err != nil {
					b.Error(err)
				}
				batch = batch[:0]
			}
			for call := w; n < benchEvents/workers; call += workers {
				tpl := templates[call%len(templates)]
				id := fmt.Sprintf("int-bench-%07d", call)
				phone := benchPhone(r.IntN(benchPhones))
				at := time.Now().Add(-time.Duration(r.Int64N(int64(6 * 24 * time.Hour))))
				for j, ev := range tpl {
					e := proto.Clone(ev).(*eventv1.Event)
					e.InteractionId, e.OrderKey = id, id
					e.DedupKey = fmt.Sprintf("%s-%02d", strings.Repeat("0", 20), j) + strconv.Itoa(call)
					e.GetInteraction().CustomerPhone = phone
					recv := at.Add(time.Duration(j) * time.Second)
					e.ReceivedAt = timestamppb.New(recv)
					batch = append(batch,
						timeline.Change{Type: timeline.ChangeReceived, At: recv, Event: e, Verdict: eventstore.VerdictNew},
						timeline.Change{Type: timeline.ChangeDelivered, At: recv.Add(50 * time.Millisecond), Event: e, RegalStatus: 200, Attempts: 1})
					n++
				}
				if len(batch) >= 4000 {
					flush()
				}
			}
			flush()
			mu.Lock()
			stored += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return stored
}

// benchTemplates are the interaction events of 200 scripted calls,
// decoded, with a trace context, as the collector stores them.
func benchTemplates(b *testing.B) [][]*eventv1.Event {
	b.Helper()
	var out [][]*eventv1.Event
	for _, c := range scenario.Mix(11, tenant, 240, time.Now()) {
		if c.InteractionID == "" {
			continue
		}
		var evs []*eventv1.Event
		for _, raw := range c.Events {
			ev, err := sapi.Decode(raw, tenant, "regal-bridge", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			ev.TraceContext = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
			evs = append(evs, ev)
		}
		out = append(out, evs)
	}
	return out
}

// benchPhone is the i-th of benchPhones valid US numbers.
func benchPhone(i int) string { return fmt.Sprintf("+1201%03d%04d", 555+i/10000, i%10000) }

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("INFO memory has no used_memory")
	return 0
}

// noDeadLetters is a dead-letter reader with none.
type noDeadLetters struct{}

func (noDeadLetters) DeadLetters(context.Context, string, eventstore.DeadLetterFilter, int) ([]eventstore.DeadEntry, error) {
	return nil, nil
}
