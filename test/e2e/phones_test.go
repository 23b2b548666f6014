package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/telemetry"
	"github.com/ccbridge/bridge/test/stack"
)

// phoneCall is one scripted call and the customer number its events carry.
type phoneCall struct {
	name string
	// raw is the attached remotePhoneNum as 8x8 would send it; empty
	// means the events carry no customer phone at all.
	raw string
	// e164 is what Regal must receive; empty when the call must be
	// dead-lettered instead.
	e164    string
	verdict string // the dispatchers' ccb_dispatcher_phones_total label
	call    scenario.Call
}

// TestPhonesUnverifiedAreSentAndEventsWithoutPhoneAreDeadLetteredAndReplayable:
// numbers libphonenumber finds possible but not valid reach Regal in E.164
// and are counted as unverified; a call whose events carry no phone, and
// one whose number is not possible in the default region, are
// dead-lettered with their reason (no number in it) instead of skipped.
// Replayed as they are, they are dead-lettered again; replayed after the
// cause is fixed (the default region), they reach Regal.
func TestPhonesUnverifiedAreSentAndEventsWithoutPhoneAreDeadLetteredAndReplayable(t *testing.T) {
	// Policy skip: each event without a phone is dead-lettered on its own
	// (under the default hold, the interaction's later events would wait
	// behind the first; TestDeadLetterHoldsItsInteractionUntilReplayedInOrder
	// covers that).
	s := startStack(t, stack.Options{Dispatchers: 2, Mutate: func(c *config.Config) {
		c.Collector.Scheduler.DeadLetterPolicy = "skip"
	}})
	r := scenario.NewRand(7)
	start := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)
	calls := []*phoneCall{
		{name: "grenada_555_exchange", raw: "+14735558383", e164: "+14735558383", verdict: "unverified"},
		{name: "uk_unlisted_range", raw: "+44 1632 960000", e164: "+441632960000", verdict: "unverified"},
		{name: "australian_unlisted_range", raw: "+61 5 5555 5555", e164: "+61555555555", verdict: "unverified"},
		{name: "valid_us_number", raw: "(551) 555-7212", e164: "+15515557212", verdict: "valid"},
		{name: "no_phone", raw: "", verdict: "no_phone"},
		{name: "uk_national_number_read_in_the_us", raw: "07400 123456", verdict: "invalid_phone"},
	}
	var scripted []scenario.Call
	for i, c := range calls {
		c.call = scenario.InboundAnswered(r, tenant, start.Add(time.Duration(i)*time.Minute))
		c.call.Events = withCustomerPhone(t, c.call.Events, c.raw)
		scripted = append(scripted, c.call)
	}
	if err := s.SAPI.Publish(tenant, scenario.Interleave(scripted, 7)...); err != nil {
		t.Fatal(err)
	}
	mapped := mappedCount(t, calls[0].call.Events) // every call has the same flow
	noPhone, wrongRegion := calls[4], calls[5]

	// Four calls reach Regal; the two others are dead-lettered, event by event.
	got := waitRegal(t, s, 4*mapped)
	byInteraction := map[string][]string{}
	for _, r := range got {
		id, _ := r.Event.Properties["interaction_id"].(string)
		phones := slices.Collect(maps.Keys(r.Event.Traits.Phones))
		byInteraction[id] = append(byInteraction[id], strings.Join(phones, ","))
	}
	for _, c := range calls {
		want := slices.Repeat([]string{c.e164}, mapped)
		if c.e164 == "" {
			want = nil
		}
		if g := byInteraction[c.call.InteractionID]; !slices.Equal(g, want) {
			t.Errorf("%s: Regal received traits.phones %q, want %q", c.name, g, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := queryClient(t, s)
	for _, c := range []*phoneCall{noPhone, wrongRegion} {
		dead := deadLetters(ctx, t, q, c.call.InteractionID)
		if len(dead) != mapped {
			t.Fatalf("%s: %d dead letters, want one per mapped event (%d)", c.name, len(dead), mapped)
		}
		for _, d := range dead {
			if !strings.Contains(d.GetReason(), "no usable customer phone ("+c.verdict+")") || d.GetAttempts() != 0 {
				t.Errorf("%s: dead letter reason %q, %d attempts; want the %s reason and no Regal attempt", c.name, d.GetReason(), d.GetAttempts(), c.verdict)
			}
			if c.raw != "" && (strings.Contains(d.GetReason(), "7400") || strings.Contains(d.GetReason(), c.raw)) {
				t.Errorf("%s: dead letter reason %q holds the number", c.name, d.GetReason())
			}
		}
	}

	// The dispatchers counted each translated event's verdict.
	want := map[string]float64{}
	for _, c := range calls {
		want[c.verdict] += float64(mapped)
	}
	counted := map[string]float64{}
	for _, d := range s.Dispatchers {
		m := scrape(t, "http://"+s.Metrics[d.ID()].Addr())
		for verdict := range want {
			counted[verdict] += sum(m, "ccb_dispatcher_phones_total", `tenant="`+tenant+`"`, `verdict="`+verdict+`"`)
		}
	}
	for verdict, n := range want {
		if counted[verdict] != n {
			t.Errorf("ccb_dispatcher_phones_total{verdict=%q} = %v, want %v", verdict, counted[verdict], n)
		}
	}

	// The timeline indexes an unverified number by its E.164 form, as
	// Regal received it (it is written behind delivery: poll).
	for {
		resp, err := q.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: "tenants/" + tenant,
			Filter: &queryv1.Filter{PhoneNumber: "+1 473-555-8383"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetInteractions()) == 1 && resp.GetInteractions()[0].GetInteractionId() == calls[0].call.InteractionID {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("ListInteractions by +14735558383 = %v, want the interaction %s", resp.GetInteractions(), calls[0].call.InteractionID)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Replayed as it is, the call without phone is dead-lettered again.
	replayedAt := time.Now()
	res := replay(ctx, t, q, noPhone.call.InteractionID)
	if res.GetReplayedCount() != int32(mapped) {
		t.Fatalf("replay of %s: %d of %d replayed", noPhone.name, res.GetReplayedCount(), res.GetMatchedCount())
	}
	for {
		dead := deadLetters(ctx, t, q, noPhone.call.InteractionID)
		again := 0
		for _, d := range dead {
			if !d.GetDeadLetterTime().AsTime().Before(replayedAt.Add(-time.Second)) && strings.Contains(d.GetReason(), "(no_phone)") {
				again++
			}
		}
		if again == mapped && len(dead) == mapped {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("after the replay %s has %d dead letters (%d new), want %d new", noPhone.name, len(dead), again, mapped)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The cause of the other is fixed: dispatchers reading national numbers
	// as British replace the old ones, and the replay reaches Regal.
	for _, d := range s.Dispatchers {
		if err := d.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for s.Collector.Scheduler().Stats().Sessions > 0 {
		if ctx.Err() != nil {
			t.Fatal("the stopped dispatchers' sessions did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	startDispatcher(ctx, t, s, "dispatcher-gb", "GB")
	res = replay(ctx, t, q, wrongRegion.call.InteractionID)
	if res.GetReplayedCount() != int32(mapped) {
		t.Fatalf("replay of %s: %d of %d replayed", wrongRegion.name, res.GetReplayedCount(), res.GetMatchedCount())
	}
	got = waitRegal(t, s, 5*mapped)
	var names []string
	for _, r := range got[4*mapped:] {
		if id, _ := r.Event.Properties["interaction_id"].(string); id != wrongRegion.call.InteractionID {
			t.Fatalf("after the replay Regal received an event of %s", id)
		}
		if _, ok := r.Event.Traits.Phones["+447400123456"]; !ok || len(r.Event.Traits.Phones) != 1 {
			t.Errorf("replayed event sent with traits.phones %v, want +447400123456", r.Event.Traits.Phones)
		}
		names = append(names, r.Event.Name)
	}
	if wantNames := regalNames(wrongRegion.call.Events); !slices.Equal(names, wantNames) {
		t.Errorf("replayed events reached Regal as %v, want %v in order", names, wantNames)
	}
	if dead := deadLetters(ctx, t, q, wrongRegion.call.InteractionID); len(dead) != 0 {
		t.Errorf("%d dead letters of %s left after the replay", len(dead), wrongRegion.name)
	}
}

// withCustomerPhone returns the events with their customer phone
// (remotePhoneNum, phoneNum, pho) replaced by remote as remotePhoneNum, or
// removed when remote is empty.
func withCustomerPhone(t *testing.T, events [][]byte, remote string) [][]byte {
	t.Helper()
	out := make([][]byte, len(events))
	for i, raw := range events {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var root map[string]map[string]any
		if err := dec.Decode(&root); err != nil {
			t.Fatalf("scenario event is not JSON: %v", err)
		}
		in, ok := root["Interaction"]
		attached, _ := in["attachedData"].(map[string]any)
		list, _ := attached["attachedDatum"].([]any)
		if !ok || list == nil {
			out[i] = raw
			continue
		}
		kept := list[:0]
		for _, d := range list {
			switch d.(map[string]any)["attachedDataKey"] {
			case "remotePhoneNum", "phoneNum", "pho":
			default:
				kept = append(kept, d)
			}
		}
		if remote != "" {
			kept = append(kept, map[string]any{"attachedDataKey": "remotePhoneNum", "attachedDataValue": remote})
		}
		attached["attachedDatum"] = kept
		b, err := json.Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// regalNames are the Regal event names of raw's mapped interaction events,
// in order.
func regalNames(raw [][]byte) []string {
	var names []string
	for _, b := range raw {
		var env map[string]struct {
			Event string `json:"event"`
		}
		if json.Unmarshal(b, &env) != nil {
			continue
		}
		if in, ok := env["Interaction"]; ok && slices.Contains(mappedEvents, in.Event) {
			names = append(names, regalName(in.Event))
		}
	}
	return names
}

// mappedCount counts raw's mapped interaction events, phone or not.
func mappedCount(t *testing.T, raw [][]byte) int {
	t.Helper()
	n := len(regalNames(raw))
	if n == 0 {
		t.Fatal("the scripted call has no mapped event")
	}
	return n
}

// queryClient is a QueryService client of the stack's collector.
func queryClient(t *testing.T, s *stack.Stack) queryv1.QueryServiceClient {
	t.Helper()
	opts, err := grpcauth.DialOptions(grpcauth.ClientConfig{Token: stack.QueryToken})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(s.Collector.QueryAddr(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return queryv1.NewQueryServiceClient(conn)
}

func deadLetters(ctx context.Context, t *testing.T, q queryv1.QueryServiceClient, interaction string) []*queryv1.DeadLetter {
	t.Helper()
	resp, err := q.ListDeadLetters(ctx, &queryv1.ListDeadLettersRequest{Parent: "tenants/" + tenant, Interaction: interaction, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetDeadLetters()
}

// replay replays an interaction's dead letters after a dry run that must
// match them.
func replay(ctx context.Context, t *testing.T, q queryv1.QueryServiceClient, interaction string) *queryv1.ReplayDeadLettersResponse {
	t.Helper()
	req := &queryv1.ReplayDeadLettersRequest{Parent: "tenants/" + tenant,
		Selector: &queryv1.ReplayDeadLettersRequest_Interaction{Interaction: interaction}, ValidateOnly: true}
	dry, err := q.ReplayDeadLetters(ctx, req)
	if err != nil || dry.GetMatchedCount() == 0 || dry.GetReplayedCount() != 0 {
		t.Fatalf("dry run: %v %v", dry, err)
	}
	req.ValidateOnly = false
	res, err := q.ReplayDeadLetters(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// startDispatcher starts one more dispatcher on the stack's collector with
// another default region; the stack shuts it down with the others.
func startDispatcher(ctx context.Context, t *testing.T, s *stack.Stack, id, region string) {
	t.Helper()
	cfg := *s.Config
	cfg.Dispatcher.CollectorAddr = s.Collector.Addr()
	cfg.Dispatcher.ID = id
	cfg.Dispatcher.Mapping.DefaultRegion = region
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "dispatcher", ServiceVersion: "dev", InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dispatcher.New(&cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown %s: %v", id, err)
		}
		_ = tel.Shutdown(ctx)
	})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok := s.Collector.Scheduler().Stats().InFlightBy[id]; ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatal(fmt.Errorf("dispatcher %s did not subscribe: %w", id, ctx.Err()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
