package query

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// catchUpOverlap is how far before the watch started a caught-up event
// may also arrive live; those are sent once.
const catchUpOverlap = time.Minute

// WatchEvents implements queryv1.QueryServiceServer. The response headers
// are sent as soon as the watch is registered: every change written after
// the client receives them is delivered (or the watch ends).
func (s *Service) WatchEvents(req *queryv1.WatchEventsRequest, stream queryv1.QueryService_WatchEventsServer) error {
	tenant, err := s.tenantOf(req.GetParent())
	if err != nil {
		return err
	}
	q, err := s.queryOf(req.GetFilter())
	if err != nil {
		return err
	}
	if !q.End.IsZero() {
		return invalid("filter.end_time must be unset: a watch follows new changes")
	}
	types := map[timeline.ChangeType]bool{}
	for _, t := range req.GetChangeTypes() {
		ct, ok := changeTypeOf(t)
		if !ok {
			return invalid("change_types holds an unknown ChangeType")
		}
		types[ct] = true
	}
	wants := func(t timeline.ChangeType) bool { return len(types) == 0 || types[t] }
	w := s.tl.Hub().Watch(s.watchBuffer, func(p *timeline.Published) bool {
		return p.Event.GetTenant() == tenant && wants(p.Type) && p.Dims.Matches(q)
	})
	defer w.Close()
	started := time.Now()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	ctx := stream.Context()
	caughtUp := map[string]bool{} // events sent by the catch-up that may also arrive live
	if !q.Start.IsZero() && wants(timeline.ChangeReceived) {
		page := timeline.Page{Size: 500, OldestFirst: true}
		for {
			items, next, err := s.tl.ListEvents(ctx, tenant, q, page)
			if err != nil {
				return storeError(ctx, s.logger, "WatchEvents", err)
			}
			for _, e := range items {
				if e.ReceivedAtMillis() >= started.Add(-catchUpOverlap).UnixMilli() {
					caughtUp[e.ID] = true
				}
				resp := &queryv1.WatchEventsResponse{ChangeType: queryv1.ChangeType_CHANGE_TYPE_RECEIVED,
					ChangeTime: e.Event.GetReceivedAt(), Event: s.eventMessage(e, false),
					DedupVerdict: queryv1.DedupVerdict_DEDUP_VERDICT_NEW}
				if err := stream.Send(resp); err != nil {
					return err
				}
			}
			if next.IsZero() {
				break
			}
			page.After = next
		}
	}
	for {
		select {
		case p := <-w.Changes():
			if p.Type == timeline.ChangeReceived && p.Verdict == eventstore.VerdictNew && caughtUp[p.Event.GetDedupKey()] {
				continue
			}
			if err := stream.Send(s.publishedMessage(p)); err != nil {
				return err
			}
		case <-w.Done():
			return status.Error(codes.ResourceExhausted,
				"the watch fell behind and was ended; watch again with filter.start_time to catch up")
		case <-s.stopping:
			return status.Error(codes.Unavailable, "the collector is shutting down; watch again later")
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// publishedMessage renders a live change.
func (s *Service) publishedMessage(p timeline.Published) *queryv1.WatchEventsResponse {
	ev := p.Event
	e := timeline.Event{Tenant: ev.GetTenant(), ID: ev.GetDedupKey(), Interaction: ev.GetInteractionId(), Event: ev, Dims: p.Dims,
		State: timeline.EventState{State: p.Type.State(), At: p.At, RegalStatus: p.RegalStatus, Reason: p.Reason,
			Dispatcher: p.Dispatcher, Redelivery: p.Redelivery, Attempts: p.TotalAttempts, Sightings: p.Sightings}}
	if p.Type == timeline.ChangeReceived && p.Verdict != eventstore.VerdictNew {
		e.State.State, e.State.At = 0, time.Time{} // a duplicate says nothing of the delivery
	}
	return &queryv1.WatchEventsResponse{ChangeType: changeTypes[p.Type], ChangeTime: timestamp(p.At),
		Event: s.eventMessage(e, false), DedupVerdict: verdictMessage(p.Verdict)}
}

func changeTypeOf(t queryv1.ChangeType) (timeline.ChangeType, bool) {
	for ct, api := range changeTypes {
		if api == t {
			return ct, true
		}
	}
	return 0, false
}
