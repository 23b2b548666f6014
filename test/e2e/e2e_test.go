// Package e2e runs the whole bridge over real parts: the SAPI double
// (HTTP streaming), the collector, a real redis-server, gRPC on loopback,
// two dispatchers and the Regal double (HTTP).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/test/stack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.WithSharedCluster(m)) }

// mappedEvents are the SAPI events the default mapping sends, written out
// here rather than taken from the code under test.
var mappedEvents = []string{
	"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionDeassigned",
	"InteractionAccepted", "InteractionCustomerAccepted", "InteractionParticipantChange",
	"InteractionPostProcess", "InteractionDeleted",
}

const tenant = "acmecorp01"

func startStack(t *testing.T, o stack.Options) *stack.Stack {
	t.Helper()
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	o.RedisAddr = redis.Addr
	if o.KeyPrefix == "" {
		o.KeyPrefix = "e2e"
	}
	return startStackOn(t, o)
}

// startStackOn starts a stack on the Redis o names, stopped by t.Cleanup.
func startStackOn(t *testing.T, o stack.Options) *stack.Stack {
	t.Helper()
	o.Tenant = tenant
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// expectation is what one SAPI event should become at Regal.
type expectation struct {
	interaction string
	event       string
}

// expect returns, in stream order, the events of raw that must reach Regal:
// mapped interaction events that carry a customer phone.
func expect(t *testing.T, raw [][]byte) []expectation {
	t.Helper()
	var out []expectation
	for _, b := range raw {
		var env map[string]struct {
			Event           string `json:"event"`
			InteractionGUID string `json:"interactionGUID"`
			AttachedData    struct {
				AttachedDatum json.RawMessage `json:"attachedDatum"`
			} `json:"attachedData"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("scenario event is not JSON: %v", err)
		}
		in, ok := env["Interaction"]
		if !ok || !slices.Contains(mappedEvents, in.Event) {
			continue
		}
		d := string(in.AttachedData.AttachedDatum)
		if !strings.Contains(d, `"remotePhoneNum"`) && !strings.Contains(d, `"phoneNum"`) && !strings.Contains(d, `"pho"`) {
			continue
		}
		out = append(out, expectation{interaction: in.InteractionGUID, event: in.Event})
	}
	return out
}

func waitRegal(t *testing.T, s *stack.Stack, n int) []regaldouble.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Regal.WaitCount(ctx, n); err != nil {
		t.Fatalf("Regal received %d events, want %d: %v", s.Regal.Count(), n, err)
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	// Whatever was going to arrive has arrived: the collector holds nothing.
	got := s.Regal.Received()
	if len(got) != n {
		t.Fatalf("Regal received %d events, want exactly %d", len(got), n)
	}
	return got
}

func documentedSamples(t *testing.T) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "sapi", "documented-samples.ndjson"))
	if err != nil {
		t.Fatalf("documented samples: %v", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	if len(out) != 10 {
		t.Fatalf("want the 10 documented samples, got %d", len(out))
	}
	return out
}

// scriptedFlows are the three call flows of the acceptance test, fixed by
// seed and start time so the golden file is stable.
func scriptedFlows() []scenario.Call {
	r := scenario.NewRand(42)
	start := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	return []scenario.Call{
		scenario.InboundAnswered(r, tenant, start),
		scenario.OutboundCampaignAnswered(r, tenant, start.Add(time.Minute)),
		scenario.OutboundNotAnswered(r, tenant, start.Add(2*time.Minute)),
	}
}

// withRepeats publishes every event and repeats every third one, as SAPI
// does around reconnects: the repeat gets a new msgInfo, nothing else.
// repeats counts the repeated events that are not heartbeats (those are
// dropped before dedup).
func withRepeats(events [][]byte) (stream [][]byte, repeats int) {
	for i, e := range events {
		stream = append(stream, e)
		if i%3 == 0 {
			stream = append(stream, e)
			if !bytes.HasPrefix(e, []byte(`{"ClientCheck"`)) {
				repeats++
			}
		}
	}
	return stream, repeats
}

// regalBody is the golden form of one received request.
type regalBody struct {
	Authorization string          `json:"authorization"`
	ContentType   string          `json:"content_type"`
	Body          json.RawMessage `json:"body"`
}

func TestDocumentedSamplesAndScriptedFlowsReachRegalExactlyOnceInOrder(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2})
	var events [][]byte
	events = append(events, documentedSamples(t)...)
	events = append(events, scenario.Interleave(scriptedFlows(), 7)...)
	want := expect(t, events)
	stream, repeats := withRepeats(events)
	if err := s.SAPI.Publish(tenant, stream...); err != nil {
		t.Fatal(err)
	}
	got := waitRegal(t, s, len(want))

	assertOncePerInteractionInOrder(t, got, want)

	// The exact bodies, grouped by interaction in arrival order.
	golden := map[string][]regalBody{}
	for _, r := range got {
		id, _ := r.Event.Properties["interaction_id"].(string)
		auth := "raw key #" + fmt.Sprint(r.APIKeyIndex) // the double accepts only the exact raw key
		golden[id] = append(golden[id], regalBody{Authorization: auth, ContentType: r.Header.Get("Content-Type"), Body: r.Body})
	}
	compareGolden(t, "regal_bodies.golden.json", golden)

	st := s.Collector.Stats()
	if st.Duplicates != int64(repeats) {
		t.Errorf("collector dropped %d duplicates, want %d", st.Duplicates, repeats)
	}
	if st.Malformed != 0 {
		t.Errorf("collector counted %d malformed frames, want 0", st.Malformed)
	}
}

// assertOncePerInteractionInOrder checks that Regal got every expected event
// of every interaction exactly once, in the interaction's order, and no
// other interaction.
func assertOncePerInteractionInOrder(t *testing.T, got []regaldouble.Received, want []expectation) {
	t.Helper()
	byInteraction := map[string][]string{}
	for _, r := range got {
		id, _ := r.Event.Properties["interaction_id"].(string)
		byInteraction[id] = append(byInteraction[id], r.Event.Name)
	}
	wantBy := map[string][]string{}
	for _, e := range want {
		wantBy[e.interaction] = append(wantBy[e.interaction], regalName(e.event))
	}
	if len(byInteraction) != len(wantBy) {
		t.Errorf("Regal saw %d interactions, want %d", len(byInteraction), len(wantBy))
	}
	for id, names := range wantBy {
		if !slices.Equal(byInteraction[id], names) {
			t.Errorf("interaction %s: Regal got %v, want %v", id, byInteraction[id], names)
		}
	}
}

func regalName(sapiEvent string) string {
	// "InteractionCustomerAccepted" → "Interaction Customer Accepted".
	var b strings.Builder
	for i, r := range sapiEvent {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func compareGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./test/e2e -update to create it, then review it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatalf("Regal bodies differ from %s:\n%s", path, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d\nwant: %s\n got: %s", i+1, wl, gl)
		}
	}
	return "(equal lines, different whitespace)"
}

func TestManyCallsOverTwoDispatchersKeepOrderPerInteraction(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2})
	calls := scenario.Mix(11, tenant, 60, time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC))
	events := scenario.Interleave(calls, 3)
	want := expect(t, events)
	stream, _ := withRepeats(events)
	if err := s.SAPI.Publish(tenant, stream...); err != nil {
		t.Fatal(err)
	}
	got := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)
	// Every event of one interaction went through one dispatcher.
	senders := map[string]map[string]bool{}
	for _, r := range got {
		id, _ := r.Event.Properties["interaction_id"].(string)
		if senders[id] == nil {
			senders[id] = map[string]bool{}
		}
		senders[id][r.Header.Get("User-Agent")] = true
	}
	for id, ua := range senders {
		if len(ua) != 1 {
			t.Errorf("interaction %s was sent by %d dispatchers: %v", id, len(ua), ua)
		}
	}
	for _, d := range s.Dispatchers {
		if d.Stats().Delivered == 0 {
			t.Errorf("dispatcher %s delivered nothing: the load was not shared", d.ID())
		}
	}
}

func TestMalformedLinesAreCountedKeptAndSkipped(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 1})
	call := scriptedFlows()[0]
	first, rest := call.Events[:2], call.Events[2:]
	if err := s.SAPI.Publish(tenant, first...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Regal.WaitCount(ctx, len(expect(t, first))); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name      string
		line      []byte
		malformed bool
	}{
		{"truncated_json", []byte(`{"Interaction":{"event":"InteractionQueued","interactionGUID":"int-1`), true},
		{"binary_garbage", []byte{0x00, 0xff, 0xfe, 0x1b, '[', 'x', 0x80, 0x81}, true},
		{"unknown_root_key", []byte(`{"GuestChatEnd":{"chatId":"c-1","msgInfo":{}}}`), false},
	}
	for _, b := range bad {
		s.SAPI.PublishRaw(tenant, append(append([]byte(nil), b.line...), '\n'))
	}
	if err := s.SAPI.Publish(tenant, rest...); err != nil {
		t.Fatal(err)
	}
	want := expect(t, call.Events)
	waitRegal(t, s, len(want))

	st := s.Collector.Stats()
	if st.Malformed != 2 {
		t.Errorf("malformed frames counted: %d, want 2", st.Malformed)
	}
	kept, err := s.Collector.Store().RecentMalformed(context.Background(), tenant, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || !bytes.Equal(kept[0].Frame, bad[1].line) || !bytes.Equal(kept[1].Frame, bad[0].line) {
		t.Errorf("kept malformed frames: %+v, want the garbage then the truncated line (newest first)", kept)
	}
	for _, k := range kept {
		if k.Reason == "" {
			t.Errorf("kept frame without a reason")
		}
	}
	if skipped := s.Dispatchers[0].Stats().Skipped["unmapped_event"]; skipped < 1 {
		t.Errorf("unknown root key not counted as an unmapped event (skipped %v)", s.Dispatchers[0].Stats().Skipped)
	}
}
