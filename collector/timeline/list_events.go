package timeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// ListEvents returns up to page.Size events of tenant matching q (their
// interaction's phone, campaign, queue and agents, whichever event of the
// interaction carried them; q.State; first receive time), most recently
// received first unless page.OldestFirst,
// and the next page's cursor (zero when there is none). Events come with
// their state, without history. A page may be short, even empty, with a
// cursor, when the scan budget was spent.
func (s *Store) ListEvents(ctx context.Context, tenant string, q Query, page Page) ([]Event, Cursor, error) {
	lo, hi := bounds(q)
	lo = max(lo, s.retained())
	sc := newScanner(s.rdb, s.eventIndexKey(tenant, eventDim(q)), !page.OldestFirst, lo, hi, page.After, s.scanBudget)
	size := clampSize(page.Size)
	var out []Event
	for len(out) < size {
		zs, err := sc.fetch(ctx, chunkFor(size-len(out)))
		if err != nil || len(zs) == 0 {
			return out, sc.next(), err
		}
		ids := make([]string, len(zs))
		for i, z := range zs {
			ids[i] = z.Member.(string)
		}
		events, err := s.events(ctx, tenant, ids)
		if err != nil {
			return nil, Cursor{}, err
		}
		matches, err := s.fillStates(ctx, tenant, events, q)
		if err != nil {
			return nil, Cursor{}, err
		}
		for i, z := range zs {
			if len(out) == size {
				break
			}
			sc.consume(z)
			if matches[i] && (q.State == 0 || events[i].State.State == q.State) {
				out = append(out, events[i])
			}
		}
	}
	return out, sc.next(), nil
}

// fillStates reads the state of events that have a record, and whether
// their interaction has q's phone, campaign, queue and agent: one HMGET
// per interaction, in one round trip. It reports which events match.
func (s *Store) fillStates(ctx context.Context, tenant string, events []Event, q Query) ([]bool, error) {
	matches := make([]bool, len(events))
	byInteraction := map[string][]int{}
	for i, e := range events {
		if e.Event != nil {
			byInteraction[e.Interaction] = append(byInteraction[e.Interaction], i)
		}
	}
	if len(byInteraction) == 0 {
		return matches, nil
	}
	dimFields := queryDimFields(q)
	pipe := s.rdb.Pipeline()
	type read struct {
		idx    []int
		ids    []string
		states *redis.SliceCmd
		dims   *redis.SliceCmd
	}
	reads := make([]read, 0, len(byInteraction))
	for interaction, idx := range byInteraction {
		r := read{idx: idx, ids: make([]string, len(idx))}
		for j, i := range idx {
			r.ids[j] = events[i].ID
		}
		r.states = s.readStates(ctx, pipe, tenant, interaction, r.ids)
		if len(dimFields) > 0 {
			r.dims = pipe.HMGet(ctx, s.summaryKey(tenant, interaction), dimFields...)
		}
		reads = append(reads, r)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read event states: %w", err)
	}
	for _, r := range reads {
		states := statesOf(tenant, events[r.idx[0]].Interaction, r.ids, r.states)
		ok := r.dims == nil || !slices.Contains(r.dims.Val(), nil)
		for j, i := range r.idx {
			events[i].State = states[r.ids[j]]
			matches[i] = ok
		}
	}
	return matches, nil
}

// queryDimFields are the summary fields an interaction has when it
// matches q's phone, campaign, queue and agent.
func queryDimFields(q Query) []string {
	var f []string
	if q.Phone != "" {
		f = append(f, pPhone+q.Phone)
	}
	if q.CampaignID != 0 {
		f = append(f, pCampaign+strconv.FormatInt(q.CampaignID, 10))
	}
	if q.QueueID != 0 {
		f = append(f, pQueue+strconv.FormatInt(q.QueueID, 10))
	}
	if q.AgentID != "" {
		f = append(f, pAgent+q.AgentID)
	}
	return f
}
