package ccbcli_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/poll"
)

func TestCommandsPrintWhatTheServiceAnswers(t *testing.T) {
	s := startService(t)
	tests := []struct {
		name string
		args []string
		// want are substrings of stdout, in order.
		want []string
	}{
		{"tenants_list", []string{"tenants", "list"}, []string{"acme"}},
		{"interaction_get_prints_the_timeline", []string{"interaction", "get", "int-1"}, []string{
			"interaction int-1", "phone     +12015550111", "campaign  61", "agents    agent-7", "3 events, 1 delivered, 1 skipped, 1 dead-lettered",
			"InteractionCreated", "delivered", "regal 200, 1 attempt(s)", "received", "new", "delivered", "regal 200",
			"InteractionEndPostProcess", "skipped", "unmapped_event",
			"InteractionDeleted", "dead_lettered", "regal 401, 1 attempt(s), regal 401: bad key"}},
		{"interaction_get_raw", []string{"interaction", "get", "--raw", "int-1"}, []string{`raw {"Interaction":{"event":"InteractionCreated"}}`}},
		{"interactions_list_by_phone_national_form", []string{"interactions", "list", "--phone", "(201) 555-0111", "--since", "2h"}, []string{
			"UPDATED", "int-1", "+12015550111", "61", "110", "agent-7", "3 events"}},
		{"interactions_list_dead", []string{"interactions", "list", "--status", "dead"}, []string{"int-1"}},
		{"interactions_list_ids_only", []string{"interactions", "list", "-q", "--campaign", "61"}, []string{"int-1\n"}},
		{"events_list_ids_only", []string{"events", "list", "-q", "--limit", "1"}, []string{"0000000000000000000000000000000c\n"}},
		{"events_list_dead_lettered", []string{"events", "list", "--state", "dead_lettered", "--campaign", "61"}, []string{
			"InteractionDeleted", "dead_lettered", "regal 401"}},
		{"event_get", []string{"event", "get", "0000000000000000000000000000000a"}, []string{"type         InteractionCreated", "delivery     delivered"}},
		{"deadletters_list", []string{"deadletters", "list", "--since", "1d"}, []string{"DEAD-LETTERED", "InteractionDeleted", "int-1", "401", "regal 401: bad key"}},
		{"replay_dry_run", []string{"replay", "--interaction", "int-1", "--dry-run"}, []string{"dry run: 1 dead letter(s) would be replayed", "InteractionDeleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := s.run(context.Background(), nil, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	t.Run("replay_then_nothing_left", func(t *testing.T) {
		code, out, errOut := s.run(context.Background(), nil, "replay", "--interaction", "int-1")
		if code != 0 || !strings.Contains(out, "replayed 1 of 1") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		if _, out, _ := s.run(context.Background(), nil, "deadletters", "list"); strings.TrimSpace(out) != "no dead letters" {
			t.Fatalf("dead letters left:\n%s", out)
		}
	})
}

func TestJSONTimelineIsWhatGRPCAnswers(t *testing.T) {
	s := startService(t)
	code, out, errOut := s.run(context.Background(), nil, "interaction", "get", "--json", "int-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got queryv1.GetInteractionResponse
	if err := protojson.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	opts, _ := grpcauth.DialOptions(grpcauth.ClientConfig{Token: token})
	conn, err := grpc.NewClient(s.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want, err := queryv1.NewQueryServiceClient(conn).GetInteraction(context.Background(), &queryv1.GetInteractionRequest{Name: "tenants/acme/interactions/int-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, want) {
		t.Fatalf("ccb --json printed\n%v\ngRPC answered\n%v", &got, want)
	}
}

func TestListsPrintOneJSONObjectPerLineAndHonorLimit(t *testing.T) {
	s := startService(t)
	code, out, errOut := s.run(context.Background(), nil, "events", "list", "--json", "--limit", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ls := lines(out)
	if len(ls) != 2 {
		t.Fatalf("%d lines for --limit 2:\n%s", len(ls), out)
	}
	for _, l := range ls {
		var e queryv1.Event
		if err := protojson.Unmarshal([]byte(l), &e); err != nil || e.GetEventType() == "" {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	code, out, _ = s.run(context.Background(), nil, "events", "list", "--limit", "1")
	if code != 0 || !strings.Contains(out, "more: repeat with --page-token ") {
		t.Fatalf("exit %d, no continuation hint:\n%s", code, out)
	}
}

func TestWatchPrintsChangesUntilInterrupted(t *testing.T) {
	s := startService(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- s.runTo(ctx, nil, &stdout, &stderr, "events", "watch", "--json", "--since", "1h", "--types", "received")
	}()
	poll.Until(t, "the three stored events caught up", func() bool { return strings.Count(stdout.String(), "\n") >= 3 })
	cancel()
	code, out := <-exit, stdout.String()
	if code != 0 || len(lines(out)) != 3 {
		t.Fatalf("exit %d, output:\n%s%s", code, out, stderr.String())
	}
	var first queryv1.WatchEventsResponse
	if err := protojson.Unmarshal([]byte(lines(out)[0]), &first); err != nil || first.GetEvent().GetEventType() != "InteractionCreated" {
		t.Fatalf("first change %v: %v", &first, err)
	}
}

func TestErrorsAndUsage(t *testing.T) {
	s := startService(t)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		message string
	}{
		{"no_command", nil, nil, 0, "commands:"},
		{"unknown_command", nil, []string{"frobnicate", "now"}, 2, "commands:"},
		{"missing_argument", nil, []string{"interaction", "get"}, 2, "takes 1 argument"},
		{"bad_since", nil, []string{"interactions", "list", "--since", "yesterday"}, 2, "neither a duration"},
		{"bad_state", nil, []string{"events", "list", "--state", "lost"}, 2, `"lost" is not one of dead_lettered, delivered`},
		{"replay_needs_one_selector", nil, []string{"replay", "--dry-run"}, 2, "exactly one of"},
		{"no_token", map[string]string{"CCB_TOKEN": ""}, []string{"tenants", "list"}, 1, "no credentials"},
		{"wrong_token", map[string]string{"CCB_TOKEN": "wrong-token-0123456789"}, []string{"tenants", "list"}, 1, "Unauthenticated: invalid bearer token"},
		{"unknown_interaction", nil, []string{"interaction", "get", "int-404"}, 1, "NotFound: interaction not found"},
		{"invalid_phone", nil, []string{"interactions", "list", "--phone", "12"}, 1, "InvalidArgument: filter.phone_number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := s.run(context.Background(), tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.message) {
				t.Fatalf("exit %d (want %d), output:\n%s%s", code, tt.code, out, errOut)
			}
		})
	}
}

func TestHelpNeverShowsTheToken(t *testing.T) {
	s := startService(t)
	code, out, errOut := s.run(context.Background(), nil, "interactions", "list", "-h")
	if code != 0 || !strings.Contains(errOut, "-phone") || strings.Contains(out+errOut, token) {
		t.Fatalf("exit %d, help:\n%s%s", code, out, errOut)
	}
}

func TestTenantIsNeededWhenSeveralAreServed(t *testing.T) {
	s := startService(t, "acme", "globex")
	code, _, errOut := s.run(context.Background(), nil, "interactions", "list")
	if code != 1 || !strings.Contains(errOut, "choose one with --tenant") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, out, errOut := s.run(context.Background(), map[string]string{"CCB_TENANT": "acme"}, "interactions", "list"); code != 0 || !strings.Contains(out, "int-1") {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
}
