package query

import (
	"cmp"
	"context"
	"slices"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// maxReplayListed bounds the dead letters a replay response lists.
const maxReplayListed = 1000

// ListDeadLetters implements queryv1.QueryServiceServer.
func (s *Service) ListDeadLetters(ctx context.Context, req *queryv1.ListDeadLettersRequest) (*queryv1.ListDeadLettersResponse, error) {
	tenant, err := s.tenantOf(req.GetParent())
	if err != nil {
		return nil, err
	}
	var f eventstore.DeadLetterFilter
	if ref := req.GetInteraction(); ref != "" {
		if f.InteractionID, err = reference(ref, tenant, collInteractions, "interaction"); err != nil {
			return nil, err
		}
	}
	if ref := req.GetEvent(); ref != "" {
		if f.DedupKey, err = reference(ref, tenant, collEvents, "event"); err != nil {
			return nil, err
		}
	}
	if f.Since, err = timeOf(req.GetStartTime(), "start_time"); err != nil {
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
	all, err := s.dead.DeadLetters(ctx, tenant, f, 0)
	if err != nil {
		return nil, storeError(ctx, s.logger, "ListDeadLetters", err)
	}
	slices.SortStableFunc(all, func(a, b eventstore.DeadEntry) int {
		return cmp.Or(cmp.Compare(a.At.UnixMilli(), b.At.UnixMilli()), cmp.Compare(deadLetterID(a), deadLetterID(b)))
	})
	start := 0
	if !after.IsZero() {
		start, _ = slices.BinarySearchFunc(all, after, func(d eventstore.DeadEntry, c timeline.Cursor) int {
			if n := cmp.Compare(d.At.UnixMilli(), c.Score); n != 0 {
				return n
			}
			return cmp.Compare(deadLetterID(d), c.Member+"\x00") // just past the cursor
		})
	}
	end := min(start+size, len(all))
	resp := &queryv1.ListDeadLettersResponse{}
	for _, d := range all[start:end] {
		resp.DeadLetters = append(resp.DeadLetters, s.deadLetterMessage(d))
	}
	if end < len(all) {
		last := all[end-1]
		resp.NextPageToken = encodeToken(timeline.Cursor{Score: last.At.UnixMilli(), Member: deadLetterID(last)}, fp)
	}
	return resp, nil
}

// ReplayDeadLetters implements queryv1.QueryServiceServer.
func (s *Service) ReplayDeadLetters(ctx context.Context, req *queryv1.ReplayDeadLettersRequest) (*queryv1.ReplayDeadLettersResponse, error) {
	tenant, err := s.tenantOf(req.GetParent())
	if err != nil {
		return nil, err
	}
	var f eventstore.DeadLetterFilter
	switch sel := req.GetSelector().(type) {
	case *queryv1.ReplayDeadLettersRequest_Event:
		f.DedupKey, err = reference(sel.Event, tenant, collEvents, "event")
	case *queryv1.ReplayDeadLettersRequest_Interaction:
		f.InteractionID, err = reference(sel.Interaction, tenant, collInteractions, "interaction")
	case *queryv1.ReplayDeadLettersRequest_StartTime:
		if sel.StartTime == nil {
			return nil, invalid("start_time must be set")
		}
		f.Since, err = timeOf(sel.StartTime, "start_time")
	default:
		return nil, invalid("say what to replay: one of event, interaction or start_time")
	}
	if err != nil {
		return nil, err
	}
	matched, replayed, err := s.replay(ctx, tenant, f, req.GetValidateOnly())
	if err != nil {
		return nil, storeError(ctx, s.logger, "ReplayDeadLetters", err)
	}
	s.logger.Info("dead letters replay requested", "tenant", tenant, "matched", len(matched),
		"replayed", replayed, "validate_only", req.GetValidateOnly())
	resp := &queryv1.ReplayDeadLettersResponse{MatchedCount: int32(len(matched)), ReplayedCount: int32(replayed),
		ValidateOnly: req.GetValidateOnly()}
	for _, d := range matched[:min(len(matched), maxReplayListed)] {
		resp.DeadLetters = append(resp.DeadLetters, s.deadLetterMessage(d))
	}
	return resp, nil
}

// reference reads a field that names a child of tenant by resource name or
// bare id.
func reference(ref, tenant, collection, field string) (string, error) {
	id, ok := parseReference(ref, tenant, collection)
	if !ok {
		return "", invalid(field + " must be an id or \"tenants/" + tenant + "/" + collection + "/{id}\"")
	}
	return id, nil
}
