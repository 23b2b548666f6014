package timeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Interaction returns an interaction's summary and its events, oldest
// first, each with its state and history. ErrNotFound when the interaction
// is not stored. Two round trips.
func (s *Store) Interaction(ctx context.Context, tenant, id string) (Interaction, []Event, error) {
	pipe := s.rdb.Pipeline()
	sumCmd := pipe.HGetAll(ctx, s.summaryKey(tenant, id))
	histCmd := pipe.XRange(ctx, s.historyKey(tenant, id), "-", "+")
	if _, err := pipe.Exec(ctx); err != nil {
		return Interaction{}, nil, fmt.Errorf("read interaction: %w", err)
	}
	if len(sumCmd.Val()) == 0 {
		return Interaction{}, nil, ErrNotFound
	}
	in := decodeSummary(tenant, id, sumCmd.Val())
	ids := make([]string, 0, len(in.States))
	for eventID := range in.States {
		ids = append(ids, eventID)
	}
	events, err := s.events(ctx, tenant, ids)
	if err != nil {
		return Interaction{}, nil, err
	}
	byID := make(map[string]*Event, len(events))
	for i := range events {
		e := &events[i]
		e.Interaction = id
		e.State = in.States[e.ID]
		byID[e.ID] = e
	}
	for _, h := range decodeHistory(histCmd.Val()) {
		if e := byID[h.eventID]; e != nil {
			e.History = append(e.History, h.change)
		}
	}
	slices.SortStableFunc(events, compareTimeline)
	return in, events, nil
}

// Event returns one event with its state and history. ErrNotFound when
// its record is not stored. Two round trips.
func (s *Store) Event(ctx context.Context, tenant, id string) (Event, error) {
	events, err := s.events(ctx, tenant, []string{id})
	if err != nil {
		return Event{}, err
	}
	e := events[0]
	if e.Event == nil {
		return Event{}, ErrNotFound
	}
	pipe := s.rdb.Pipeline()
	stateCmd := s.readStates(ctx, pipe, tenant, e.Interaction, []string{id})
	histCmd := pipe.XRange(ctx, s.historyKey(tenant, e.Interaction), "-", "+")
	if _, err := pipe.Exec(ctx); err != nil {
		return Event{}, fmt.Errorf("read event state: %w", err)
	}
	e.State = statesOf(tenant, e.Interaction, []string{id}, stateCmd)[id]
	for _, h := range decodeHistory(histCmd.Val()) {
		if h.eventID == id {
			e.History = append(e.History, h.change)
		}
	}
	return e, nil
}

// events reads event records, one per id, in order. An event whose
// record is missing has a nil Event.
func (s *Store) events(ctx context.Context, tenant string, ids []string) ([]Event, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, s.eventKey(tenant, id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make([]Event, len(ids))
	for i, c := range cmds {
		out[i] = Event{Tenant: tenant, ID: ids[i]}
		b, err := c.Bytes()
		if err != nil {
			continue
		}
		rec, err := decodeEventRecord(b, s.maxRecordBytes())
		ev := &eventv1.Event{}
		if err != nil || proto.Unmarshal(rec.event, ev) != nil {
			return nil, fmt.Errorf("decode stored event %s: %w", ids[i], errCorrupt)
		}
		out[i].Event, out[i].Dims, out[i].RawTruncated = ev, rec.dims, rec.rawTruncated
		out[i].Interaction = ev.GetInteractionId()
	}
	return out, nil
}

// maxRecordBytes bounds an inflated event: encodeRecord keeps events
// within twice RawMaxBytes, plus the identifying fields.
func (s *Store) maxRecordBytes() int { return 3*s.cfg.RawMaxBytes + 4096 }

// readStates queues the reads of the per-event summary fields of ids.
func (s *Store) readStates(ctx context.Context, pipe redis.Pipeliner, tenant, interaction string, ids []string) *redis.SliceCmd {
	fields := make([]string, 0, 5*len(ids))
	for _, id := range ids {
		fields = append(fields, pState+id, pSightings+id, pDuplicate+id, pReplays+id, pAttempts+id)
	}
	return pipe.HMGet(ctx, s.summaryKey(tenant, interaction), fields...)
}

// statesOf decodes the answer of readStates.
func statesOf(tenant, interaction string, ids []string, cmd *redis.SliceCmd) map[string]EventState {
	h := map[string]string{}
	vals := cmd.Val()
	for i, id := range ids {
		for j, prefix := range []string{pState, pSightings, pDuplicate, pReplays, pAttempts} {
			if k := 5*i + j; k < len(vals) {
				if v, ok := vals[k].(string); ok {
					h[prefix+id] = v
				}
			}
		}
	}
	return decodeSummary(tenant, interaction, h).States
}

func decodeHistory(msgs []redis.XMessage) []historyEntry {
	out := make([]historyEntry, 0, len(msgs))
	for _, m := range msgs {
		v, _ := m.Values["c"].(string)
		if h, err := decodeHistoryEntry([]byte(v)); err == nil {
			out = append(out, h)
		}
	}
	return out
}

// compareTimeline orders events by first receive time, then 8x8 time,
// then id.
func compareTimeline(a, b Event) int {
	return cmp.Or(
		cmp.Compare(a.ReceivedAtMillis(), b.ReceivedAtMillis()),
		cmp.Compare(a.Event.GetOccurredAt().AsTime().UnixMilli(), b.Event.GetOccurredAt().AsTime().UnixMilli()),
		cmp.Compare(a.ID, b.ID))
}
