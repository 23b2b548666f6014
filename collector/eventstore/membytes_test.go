package eventstore_test

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// heapPer builds n values and returns the heap each one keeps alive,
// measured, not estimated.
func heapPer[T any](n int, build func(i int) T) float64 {
	held := make([]T, n)
	before := liveHeap()
	for i := range held {
		held[i] = build(i)
	}
	after := liveHeap()
	runtime.KeepAlive(held)
	return (float64(after) - float64(before)) / float64(n)
}

// scenarioLines are SAPI lines of real-looking calls, agent events
// included, as the SAPI double streams them.
func scenarioLines(t *testing.T) map[string][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inbound := scenario.InboundAnswered(r, "acmecorp01", start)
	outbound := scenario.OutboundCampaignAnswered(r, "acmecorp01", start)
	agent := scenario.AgentBreak(r, start)
	out := map[string][]byte{
		"inbound created":    inbound.Events[0],
		"inbound deassigned": inbound.Events[len(inbound.Events)-2],
		"outbound accepted":  outbound.Events[len(outbound.Events)/2],
		"agent status":       agent.Events[0],
	}
	// A large event: a long attached datum, as a CRM integration may add.
	big := bytes.Replace(inbound.Events[1], []byte(`"interactionGUID"`),
		[]byte(`"note":"`+string(bytes.Repeat([]byte("x"), 48<<10))+`","interactionGUID"`), 1)
	out["large attached datum"] = big
	return out
}

func decodeLine(t *testing.T, line []byte) *eventv1.Event {
	t.Helper()
	ev, err := sapi.Decode(line, "acmecorp01", "subs-1", time.Now())
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	ev.TraceContext = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	return ev
}

// TestEntryBytesTracksTheHeap checks the per-entry estimate the
// collector's byte bounds count against the heap entries really keep
// alive, for events decoded off SAPI (the reader's path) and for events
// read back from Redis (recovery's path): within a factor of two, and
// never below the heap by more than a quarter, so that a bound in bytes
// is one in memory.
func TestEntryBytesTracksTheHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	for name, line := range scenarioLines(t) {
		t.Run(name, func(t *testing.T) {
			ev := decodeLine(t, line)
			payload, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			ref := eventstore.Ref{Tenant: "acmecorp01", Partition: 3, ID: "1767323045000-12"}
			n := min(2000, max(100, (16<<20)/(2*len(payload)))) // about 16 MiB of entries
			estimate := float64(eventstore.EntryBytes(eventstore.Entry{Ref: ref, Event: ev, Payload: payload}))
			paths := map[string]func(i int) eventstore.Entry{
				"decoded off SAPI": func(i int) eventstore.Entry {
					e := decodeLine(t, line)
					p, _ := proto.Marshal(e)
					return eventstore.Entry{Ref: eventstore.Ref{Tenant: ref.Tenant, Partition: 3, ID: "1767323045000-" + strconv.Itoa(i)}, Event: e, Payload: p}
				},
				"read back from Redis": func(i int) eventstore.Entry {
					stored := string(payload) // what the Redis client hands over
					e := &eventv1.Event{}
					if err := proto.Unmarshal([]byte(stored), e); err != nil {
						panic(err)
					}
					return eventstore.Entry{Ref: eventstore.Ref{Tenant: ref.Tenant, Partition: 3, ID: "1767323045000-" + strconv.Itoa(i)}, Event: e, Payload: []byte(stored)}
				},
			}
			for path, build := range paths {
				measured := heapPer(n, build)
				ratio := estimate / measured
				t.Logf("%s: estimate %.0f B, heap %.0f B per entry (×%.2f), encoded %d B", path, estimate, measured, ratio, len(payload))
				if ratio < 0.75 || ratio > 2 {
					t.Errorf("%s: EntryBytes %.0f is ×%.2f the heap an entry keeps (%.0f B); want within [0.75, 2]", path, estimate, ratio, measured)
				}
			}
		})
	}
}

// TestAdmissionBytesIsTheAdmittedEntry checks that what the pipeline
// reserves for an event before admission is what the scheduler counts for
// it after.
func TestAdmissionBytesIsTheAdmittedEntry(t *testing.T) {
	for name, line := range scenarioLines(t) {
		ev := decodeLine(t, line)
		payload, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		before := eventstore.AdmissionBytes(ev)
		after := eventstore.EntryBytes(eventstore.Entry{Event: ev, Payload: payload[:len(payload):len(payload)]})
		if before != after {
			t.Errorf("%s: AdmissionBytes %d, EntryBytes of the admitted entry %d", name, before, after)
		}
	}
	if got := eventstore.EntryBytes(eventstore.Entry{}); got <= 0 {
		t.Errorf("an empty entry is counted as %d bytes; its bookkeeping is not free", got)
	}
	if got := eventstore.EventBytes(nil); got != 0 {
		t.Errorf("EventBytes(nil) = %d", got)
	}
}
