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
	l, err := s.listOf(req, req.GetParent(), req.GetFilter(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	if l.query.Status, err = statusFilterOf(req.GetStatus()); err != nil {
		return nil, err
	}
	items, next, err := s.tl.ListInteractions(ctx, l.tenant, l.query, l.page)
	if err != nil {
		return nil, storeError(ctx, s.logger, "ListInteractions", err)
	}
	resp := &queryv1.ListInteractionsResponse{NextPageToken: encodeToken(next, l.fingerprint)}
	for _, in := range items {
		resp.Interactions = append(resp.Interactions, interactionMessage(in))
	}
	return resp, nil
}

// listFingerprint identifies a list request without its page_size and
// page_token.
// listRequest is what both list RPCs read from their request before they
// query the timeline.
type listRequest struct {
	tenant      string
	query       timeline.Query
	page        timeline.Page
	fingerprint string // ties page tokens to the request's filters
}

// listOf checks the parent, filter, page size and page token of a list
// request.
func (s *Service) listOf(req proto.Message, parent string, filter *queryv1.Filter, size int32, token string) (listRequest, error) {
	var l listRequest
	var err error
	if l.tenant, err = s.tenantOf(parent); err != nil {
		return l, err
	}
	if l.query, err = s.queryOf(filter); err != nil {
		return l, err
	}
	if l.page.Size, err = pageSize(size); err != nil {
		return l, err
	}
	l.fingerprint = listFingerprint(req)
	l.page.After, err = decodeToken(token, l.fingerprint)
	return l, err
}

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
