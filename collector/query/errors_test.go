package query_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestInvalidRequestsGetPreciseCodesWithoutInternalDetail(t *testing.T) {
	h := startHarness(t, harnessOptions{})
	d := newDay(3)
	h.publish(t, d.lines())
	parent := "tenants/" + tenant
	c := h.client
	ctx := callCtx(t)
	poll.Until(t, "the interactions recorded", func() bool {
		resp, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent})
		return err == nil && len(resp.GetInteractions()) == len(d.calls)
	})
	firstPage, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, PageSize: 1})
	if err != nil || firstPage.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", firstPage, err)
	}
	tests := []struct {
		name    string
		call    func() error
		code    codes.Code
		message string
	}{
		{"interaction_name_without_tenant", func() error {
			_, err := c.GetInteraction(ctx, &queryv1.GetInteractionRequest{Name: "interactions/int-1"})
			return err
		}, codes.InvalidArgument, "tenants/{tenant}/interactions/{interaction}"},
		{"interaction_of_unknown_tenant", func() error {
			_, err := c.GetInteraction(ctx, &queryv1.GetInteractionRequest{Name: "tenants/other/interactions/int-1"})
			return err
		}, codes.NotFound, "tenant not found"},
		{"unknown_interaction", func() error {
			_, err := c.GetInteraction(ctx, &queryv1.GetInteractionRequest{Name: parent + "/interactions/int-unknown"})
			return err
		}, codes.NotFound, "interaction not found"},
		{"event_name_of_another_collection", func() error {
			_, err := c.GetEvent(ctx, &queryv1.GetEventRequest{Name: parent + "/interactions/x"})
			return err
		}, codes.InvalidArgument, "tenants/{tenant}/events/{event}"},
		{"unknown_event", func() error {
			_, err := c.GetEvent(ctx, &queryv1.GetEventRequest{Name: parent + "/events/0123"})
			return err
		}, codes.NotFound, "event not found"},
		{"malformed_parent", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: "tenants"})
			return err
		}, codes.InvalidArgument, "parent"},
		{"invalid_phone_is_not_echoed", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, Filter: &queryv1.Filter{PhoneNumber: "5550-secret-99"}})
			return err
		}, codes.InvalidArgument, "filter.phone_number"},
		{"negative_campaign", func() error {
			_, err := c.ListEvents(ctx, &queryv1.ListEventsRequest{Parent: parent, Filter: &queryv1.Filter{CampaignId: -1}})
			return err
		}, codes.InvalidArgument, "must not be negative"},
		{"end_before_start", func() error {
			now := time.Now()
			_, err := c.ListEvents(ctx, &queryv1.ListEventsRequest{Parent: parent,
				Filter: &queryv1.Filter{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Hour))}})
			return err
		}, codes.InvalidArgument, "end_time must be after"},
		{"negative_page_size", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, PageSize: -1})
			return err
		}, codes.InvalidArgument, "page_size"},
		{"garbage_page_token", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, PageToken: "not a token"})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"page_token_of_another_request", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, PageToken: firstPage.GetNextPageToken(),
				Filter: &queryv1.Filter{CampaignId: 61}})
			return err
		}, codes.InvalidArgument, "page_token belongs to a request with other fields"},
		{"page_token_with_another_page_size_is_fine", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, PageToken: firstPage.GetNextPageToken(), PageSize: 5})
			return err
		}, codes.OK, ""},
		{"unknown_status_filter", func() error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent, Status: 99})
			return err
		}, codes.InvalidArgument, "status"},
		{"unknown_delivery_state", func() error {
			_, err := c.ListEvents(ctx, &queryv1.ListEventsRequest{Parent: parent, DeliveryState: 99})
			return err
		}, codes.InvalidArgument, "delivery_state"},
		{"dead_letters_of_an_interaction_of_another_tenant", func() error {
			_, err := c.ListDeadLetters(ctx, &queryv1.ListDeadLettersRequest{Parent: parent, Interaction: "tenants/other/interactions/int-1"})
			return err
		}, codes.InvalidArgument, "interaction must be"},
		{"replay_without_selector", func() error {
			_, err := c.ReplayDeadLetters(ctx, &queryv1.ReplayDeadLettersRequest{Parent: parent})
			return err
		}, codes.InvalidArgument, "one of event, interaction or start_time"},
		{"replay_of_unknown_tenant", func() error {
			_, err := c.ReplayDeadLetters(ctx, &queryv1.ReplayDeadLettersRequest{Parent: "tenants/other",
				Selector: &queryv1.ReplayDeadLettersRequest_Interaction{Interaction: "int-1"}})
			return err
		}, codes.NotFound, "tenant not found"},
		{"watch_with_an_end_time", func() error {
			w, err := c.WatchEvents(ctx, &queryv1.WatchEventsRequest{Parent: parent, Filter: &queryv1.Filter{EndTime: timestamppb.Now()}})
			if err == nil {
				_, err = w.Recv()
			}
			return err
		}, codes.InvalidArgument, "end_time must be unset"},
		{"watch_of_unknown_change_type", func() error {
			w, err := c.WatchEvents(ctx, &queryv1.WatchEventsRequest{Parent: parent, ChangeTypes: []queryv1.ChangeType{42}})
			if err == nil {
				_, err = w.Recv()
			}
			return err
		}, codes.InvalidArgument, "change_types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.message) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.message)
			}
			if strings.Contains(st.Message(), "secret") || strings.Contains(strings.ToLower(st.Message()), "redis") {
				t.Fatalf("message %q shows request data or internals", st.Message())
			}
		})
	}
}

func TestStoreFailureIsUnavailableWithoutDetail(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	tl, err := timeline.New(rdb, timeline.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(rdb, eventstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := query.NewService(query.Options{Tenants: []string{tenant}, Timeline: tl, DeadLetters: store,
		Replay: func(context.Context, string, eventstore.DeadLetterFilter, bool) ([]eventstore.DeadEntry, int, error) {
			return nil, 0, redis.ErrClosed
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := query.Serve(query.ServerConfig{Listen: "127.0.0.1:0", Auth: grpcauth.ServerConfig{Tokens: []secret.Secret{queryToken}}}, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()
	c := queryv1.NewQueryServiceClient(dialQuery(t, srv.Addr(), queryToken))
	parent := "tenants/" + tenant
	calls := map[string]func(ctx context.Context) error{
		"GetInteraction": func(ctx context.Context) error {
			_, err := c.GetInteraction(ctx, &queryv1.GetInteractionRequest{Name: parent + "/interactions/int-1"})
			return err
		},
		"ListInteractions": func(ctx context.Context) error {
			_, err := c.ListInteractions(ctx, &queryv1.ListInteractionsRequest{Parent: parent})
			return err
		},
		"ListDeadLetters": func(ctx context.Context) error {
			_, err := c.ListDeadLetters(ctx, &queryv1.ListDeadLettersRequest{Parent: parent})
			return err
		},
		"ReplayDeadLetters": func(ctx context.Context) error {
			_, err := c.ReplayDeadLetters(ctx, &queryv1.ReplayDeadLettersRequest{Parent: parent,
				Selector: &queryv1.ReplayDeadLettersRequest_Interaction{Interaction: "int-1"}})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			st := status.Convert(call(callCtx(t)))
			if st.Code() != codes.Unavailable || strings.Contains(st.Message(), "127.0.0.1") || strings.Contains(st.Message(), "redis") {
				t.Fatalf("got %v %q", st.Code(), st.Message())
			}
		})
	}
}

func TestServeRefusesToRunWithoutAuthentication(t *testing.T) {
	svc, err := query.NewService(query.Options{Tenants: []string{tenant}, Timeline: &timeline.Store{}, DeadLetters: &eventstore.Store{},
		Replay: func(context.Context, string, eventstore.DeadLetterFilter, bool) ([]eventstore.DeadEntry, int, error) {
			return nil, 0, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if srv, err := query.Serve(query.ServerConfig{Listen: "127.0.0.1:0"}, svc); err == nil {
		_ = srv.Shutdown(context.Background())
		t.Fatal("served without authentication")
	}
}
