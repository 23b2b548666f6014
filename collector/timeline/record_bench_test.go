package timeline

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/redistest"
)

// benchEventsPerSecond is the SAPI rate BenchmarkRecord simulates.
const benchEventsPerSecond = 1000

// BenchmarkRecord measures the timeline's write path on a real
// redis-server (AOF off, and on with appendfsync always), per stored
// event: its Received, Dispatched and Delivered changes written through
// Store.Record, in Record calls of 1 to 3 changes (what the recorder
// writes at 1,000 events/s) or of 256 (a backlog). The events are scripted calls whose starts are packed to
// 1,000 events/s, each call keeping its own pace, and the store's clock
// follows them, so keys are reused as they are in production. Besides
// ns/op and allocations it reports the Redis commands per event
// (cmds/event, from INFO commandstats) and the time Redis spent in them
// (cmd_µs/event), the Redis server's CPU per event, I/O included
// (redis_µs/event), and with AOF on what it appends per event
// (aof_bytes/event); -v logs the commands by name.
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name  string
		sizes []int // changes per Record call, cycled
		aof   bool  // appendfsync always, as in production
	}{
		{"changes_per_call_1_to_3", []int{1, 2, 3}, false},
		{"changes_per_call_256", []int{256}, false},
		{"changes_per_call_1_to_3_appendfsync_always", []int{1, 2, 3}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			rdb := redistest.Start(b, redistest.Options{AppendOnly: bc.aof}).Client(b)
			if bc.aof { // a rewrite would shrink the file the benchmark measures
				if err := rdb.ConfigSet(ctx, "auto-aof-rewrite-percentage", "0").Err(); err != nil {
					b.Fatal(err)
				}
			}
			s, err := New(rdb, DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			changes := benchChanges(b, b.N)
			var clock time.Time
			s.now = func() time.Time { return clock }
			before := redisCounters(b, rdb)
			b.ReportAllocs()
			b.ResetTimer()
			for i, n := 0, 0; i < len(changes); n++ {
				size := min(bc.sizes[n%len(bc.sizes)], len(changes)-i)
				batch := changes[i : i+size]
				clock = batch[size-1].At
				if err := s.Record(ctx, batch); err != nil {
					b.Fatal(err)
				}
				i += size
			}
			b.StopTimer()
			after := redisCounters(b, rdb)
			total := 0
			var byName []string
			for name, calls := range after.calls {
				if d := calls - before.calls[name]; d > 0 {
					total += d
					byName = append(byName, fmt.Sprintf("%s %.2f", name, float64(d)/float64(b.N)))
				}
			}
			slices.Sort(byName)
			b.ReportMetric(float64(total)/float64(b.N), "cmds/event")
			b.ReportMetric((after.cpu-before.cpu)*1e6/float64(b.N), "redis_µs/event")
			b.ReportMetric(float64(after.usec-before.usec)/float64(b.N), "cmd_µs/event")
			if bc.aof {
				b.ReportMetric(float64(after.aof-before.aof)/float64(b.N), "aof_bytes/event")
			}
			b.Logf("%d events: commands per event: %s", b.N, strings.Join(byName, ", "))
		})
	}
}

// benchChanges returns the changes of n stored events, in time order:
// each event is received, dispatched 2 ms later and delivered 120 ms
// later (Regal's answer).
func benchChanges(b *testing.B, n int) []Change {
	b.Helper()
	start := time.Now()
	var changes []Change
	events := 0
	for seed := int64(1); events < n; seed++ {
		calls := scenario.Mix(seed, "acmecorp01", 500, start)
		roundEvents := 0
		for _, c := range calls {
			if c.InteractionID != "" {
				roundEvents += len(c.Events)
			}
		}
		// The round's calls start evenly spaced, so that their events
		// arrive at the simulated rate, after the previous round's starts.
		roundStart := time.Duration(events) * time.Second / benchEventsPerSecond
		spacing := time.Duration(roundEvents) * time.Second / benchEventsPerSecond / time.Duration(len(calls))
		for i, c := range calls {
			var first time.Time
			for _, raw := range c.Events {
				ev, err := sapi.Decode(raw, "acmecorp01", "regal-bridge", start)
				if err != nil {
					b.Fatal(err)
				}
				if !kept(ev) {
					continue
				}
				occurred := ev.GetOccurredAt().AsTime()
				if first.IsZero() {
					first = occurred
				}
				at := start.Add(roundStart + time.Duration(i)*spacing + occurred.Sub(first))
				ev.ReceivedAt = timestamppb.New(at)
				ev.DedupKey += "-" + strconv.FormatInt(seed, 10)
				// The collector continues an interaction's trace on each of its events.
				ev.TraceContext = map[string]string{"traceparent": fmt.Sprintf("00-%032x-%016x-01", fnv64(ev.GetInteractionId()), fnv64(ev.GetDedupKey()))}
				changes = append(changes,
					Change{Type: ChangeReceived, At: at, Event: ev, Verdict: eventstore.VerdictNew},
					Change{Type: ChangeDispatched, At: at.Add(2 * time.Millisecond), Event: ev, Dispatcher: "dispatcher-1"},
					Change{Type: ChangeDelivered, At: at.Add(120 * time.Millisecond), Event: ev, RegalStatus: 200, Attempts: 1})
				events++
			}
		}
	}
	slices.SortStableFunc(changes, func(x, y Change) int { return x.At.Compare(y.At) })
	// Keep the first n events' changes: drop the others (late events of
	// the last calls).
	in := map[string]bool{}
	out := changes[:0]
	for _, c := range changes {
		if c.Type == ChangeReceived && len(in) < n {
			in[c.Event.GetDedupKey()] = true
		}
		if in[c.Event.GetDedupKey()] {
			out = append(out, c)
		}
	}
	return out
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// counters are what redis-server reports of its work.
type counters struct {
	calls map[string]int // by command, the benchmark's own INFO and connection set-up excluded
	cpu   float64        // seconds, user and system
	aof   int            // append-only file size, bytes
	usec  int            // spent in the commands counted
}

func redisCounters(b *testing.B, rdb redis.UniversalClient) counters {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats", "cpu", "persistence").Result()
	if err != nil {
		b.Fatal(err)
	}
	c := counters{calls: map[string]int{}}
	for line := range strings.SplitSeq(info, "\r\n") {
		key, value, _ := strings.Cut(line, ":")
		switch {
		case key == "used_cpu_user" || key == "used_cpu_sys":
			f, _ := strconv.ParseFloat(value, 64)
			c.cpu += f
		case key == "aof_current_size":
			c.aof, _ = strconv.Atoi(value)
		case strings.HasPrefix(key, "cmdstat_"):
			name := strings.TrimPrefix(key, "cmdstat_")
			if name == "info" || name == "hello" || strings.HasPrefix(name, "client") || name == "ping" {
				continue
			}
			for field := range strings.SplitSeq(value, ",") {
				k, v, _ := strings.Cut(field, "=")
				switch k {
				case "calls":
					c.calls[name], _ = strconv.Atoi(v)
				case "usec":
					n, _ := strconv.Atoi(v)
					c.usec += n
				}
			}
		}
	}
	return c
}
