package query

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// GetInteraction implements queryv1.QueryServiceServer.
func (s *Service) GetInteraction(ctx context.Context, req *queryv1.GetInteractionRequest) (*queryv1.GetInteractionResponse, error) {
	tenant, id, ok := parseChild(req.GetName(), collInteractions)
	if !ok {
		return nil, invalid("name must be \"tenants/{tenant}/interactions/{interaction}\"")
	}
	if !s.serves(tenant) {
		return nil, notFound("tenant")
	}
	in, events, err := s.tl.Interaction(ctx, tenant, id)
	if errors.Is(err, timeline.ErrNotFound) {
		return nil, notFound("interaction")
	}
	if err != nil {
		return nil, storeError(ctx, s.logger, "GetInteraction", err)
	}
	resp := &queryv1.GetInteractionResponse{Interaction: interactionMessage(in)}
	for _, e := range events {
		resp.Events = append(resp.Events, s.eventMessage(e, true))
	}
	return resp, nil
}

// ListInteractions implements queryv1.QueryServiceServer.
func (s *Service) ListInteractions(ctx context.Context, req *queryv1.ListInteractionsRequest) (*queryv1.ListInteractionsResponse, error) {
	tenant, err := s.tenantOf(req.GetParent())
	if err != nil {
		return nil, err
	}
	q, err := s.queryOf(req.GetFilter())
	if err != nil {
		return nil, err
	}
	if q.Status, err = statusFilterOf(req.GetStatus()); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	fp := listFingerprint(req)
	after, err := decodeToken(req.GetPageToken(), fp)
	if err != nil {
		return nil, err
	}
	items, next, err := s.tl.ListInteractions(ctx, tenant, q, timeline.Page{After: after, Size: size})
	if err != nil {
		return nil, storeError(ctx, s.logger, "ListInteractions", err)
	}
	resp := &queryv1.ListInteractionsResponse{NextPageToken: encodeToken(next, fp)}
	for _, in := range items {
		resp.Interactions = append(resp.Interactions, interactionMessage(in))
	}
	return resp, nil
}

// listFingerprint identifies a list request without its page_size and
// page_token.
func listFingerprint(req proto.Message) string {
	c := proto.Clone(req)
	switch r := c.(type) {
	case *queryv1.ListInteractionsRequest:
		r.PageSize, r.PageToken = 0, ""
	case *queryv1.ListEventsRequest:
		r.PageSize, r.PageToken = 0, ""
	case *queryv1.ListDeadLettersRequest:
		r.PageSize, r.PageToken = 0, ""
	}
	return fingerprint(c)
}
