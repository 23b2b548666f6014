package query

import (
	"context"
	"errors"

	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// GetEvent implements queryv1.QueryServiceServer.
func (s *Service) GetEvent(ctx context.Context, req *queryv1.GetEventRequest) (*queryv1.GetEventResponse, error) {
	tenant, id, ok := parseChild(req.GetName(), collEvents)
	if !ok {
		return nil, invalid("name must be \"tenants/{tenant}/events/{event}\"")
	}
	if !s.serves(tenant) {
		return nil, notFound("tenant")
	}
	e, err := s.tl.Event(ctx, tenant, id)
	if errors.Is(err, timeline.ErrNotFound) {
		return nil, notFound("event")
	}
	if err != nil {
		return nil, storeError(ctx, s.logger, "GetEvent", err)
	}
	return &queryv1.GetEventResponse{Event: s.eventMessage(e, true)}, nil
}

// ListEvents implements queryv1.QueryServiceServer.
func (s *Service) ListEvents(ctx context.Context, req *queryv1.ListEventsRequest) (*queryv1.ListEventsResponse, error) {
	l, err := s.listOf(req, req.GetParent(), req.GetFilter(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	if l.query.State, err = stateFilterOf(req.GetDeliveryState()); err != nil {
		return nil, err
	}
	items, next, err := s.tl.ListEvents(ctx, l.tenant, l.query, l.page)
	if err != nil {
		return nil, storeError(ctx, s.logger, "ListEvents", err)
	}
	resp := &queryv1.ListEventsResponse{NextPageToken: encodeToken(next, l.fingerprint)}
	for _, e := range items {
		resp.Events = append(resp.Events, s.eventMessage(e, false))
	}
	return resp, nil
}
