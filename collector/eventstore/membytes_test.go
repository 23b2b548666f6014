package eventstore_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	type testCase struct {
		line []byte         // an SAPI line, decoded as the reader does
		ev   *eventv1.Event // or an event built here
	}
	cases := map[string]testCase{"every field set": {ev: everyFieldSet()}}
	for name, line := range scenarioLines(t) {
		cases[name] = testCase{line: line}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ev := tc.ev
			if tc.line != nil {
				ev = decodeLine(t, tc.line)
			}
			payload, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			id := func(i int) string { return "1767323045000-" + strconv.Itoa(i) }
			n := min(2000, max(100, (16<<20)/(2*len(payload)))) // about 16 MiB of entries
			estimate := float64(eventstore.EntryBytes(eventstore.Entry{Ref: eventstore.Ref{ID: id(n)}, Event: ev, Payload: payload}))
			paths := map[string]func(i int) eventstore.Entry{
				"read back from Redis": func(i int) eventstore.Entry {
					stored := string(payload) // what the Redis client hands over
					e := &eventv1.Event{}
					if err := proto.Unmarshal([]byte(stored), e); err != nil {
						panic(err)
					}
					return eventstore.Entry{Ref: eventstore.Ref{Tenant: "acmecorp01", ID: id(i)}, Event: e, Payload: []byte(stored)}
				},
			}
			if tc.line != nil {
				paths["decoded off SAPI"] = func(i int) eventstore.Entry {
					e := decodeLine(t, tc.line)
					p, _ := proto.Marshal(e)
					return eventstore.Entry{Ref: eventstore.Ref{Tenant: "acmecorp01", ID: id(i)}, Event: e, Payload: p}
				}
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

// everyFieldSet is an event with every field of its messages set, so a
// field the estimate forgets shows.
func everyFieldSet() *eventv1.Event {
	n := func(v int64) *int64 { return &v }
	ts := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	long := func(prefix string) string { return prefix + strings.Repeat("-abcdefgh", 12) }
	attached := map[string]string{}
	for i := range 20 {
		attached[fmt.Sprint("datum-", i)] = long("value")
	}
	return &eventv1.Event{
		Tenant: "acmecorp01", InteractionId: long("int"), Family: "Interaction", EventType: "InteractionDeassigned",
		OccurredAt: ts, ReceivedAt: ts, DedupKey: "1f8f6e09bb949c447e5b1f87a57a9fab", OrderKey: long("int"),
		Source: &eventv1.SourcePosition{InstanceId: long("instance"), SequenceId: 215, Timestamp: ts, SubscriptionId: "subs-1"},
		Interaction: &eventv1.InteractionFields{CallState: "CONNECTED", Direction: "inbound", MediaType: "phone",
			ResourceType: n(0), AgentId: long("agent"), ParticipatingAgents: []string{long("a"), long("b"), long("c")},
			QueueId: n(112), QueueName: long("queue"), QueueTime: ts, CampaignId: n(7), CampaignName: long("campaign"),
			InteractionType: "InboundPhone", DispositionCode: "1000001", CustomerPhone: "+14155550123",
			TransactionNum: n(42), HangupInitiator: "customer", CallHangupReason: long("reason"),
			OriginalInteractionId: long("orig"), TclSelectedItems: long("tcl"), InboundChannelId: long("channel")},
		AttachedData: attached,
		Raw:          []byte(strings.Repeat(`{"Interaction":{"x":1}}`, 80)),
		TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}

// TestAdmissionBytesIsTheAdmittedEntry checks that what the pipeline
// reserves for an event before admission is about what the scheduler
// counts for it after, and that the encoded size it assumes is about the
// real one.
func TestAdmissionBytesIsTheAdmittedEntry(t *testing.T) {
	for name, line := range scenarioLines(t) {
		ev := decodeLine(t, line)
		payload, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		before := float64(eventstore.AdmissionBytes(ev))
		after := float64(eventstore.EntryBytes(eventstore.Entry{Event: ev, Payload: payload[:len(payload):len(payload)]}))
		if r := before / after; r < 0.95 || r > 1.05 {
			t.Errorf("%s: AdmissionBytes %.0f, EntryBytes of the admitted entry %.0f (×%.3f)", name, before, after, r)
		}
	}
	if got := eventstore.EntryBytes(eventstore.Entry{}); got <= 0 {
		t.Errorf("an empty entry is counted as %d bytes; its bookkeeping is not free", got)
	}
	if got := eventstore.EventBytes(nil); got != 0 {
		t.Errorf("EventBytes(nil) = %d", got)
	}
}
