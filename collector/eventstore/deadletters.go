package eventstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// DeadEntry is one dead-lettered event with why it could not be delivered.
type DeadEntry struct {
	Tenant    string
	Partition int
	ID        string // id in the dead letter stream
	Event     *eventv1.Event
	Payload   []byte
	DeadLetter
	// From is the id the event had in the delivery stream.
	From string
	// OrderKey is the event's order key (its interaction).
	OrderKey string
	// Holds is true while the letter is parked (policy hold): the event
	// is still at its place in the delivery stream and its interaction's
	// later events wait behind it.
	Holds bool
}

// DeadLetterFilter selects dead letters; zero fields match everything.
type DeadLetterFilter struct {
	InteractionID string
	DedupKey      string
	Since         time.Time // dead-lettered at or after
}

func (f DeadLetterFilter) match(d DeadEntry) bool {
	return (f.InteractionID == "" || d.Event.GetInteractionId() == f.InteractionID) &&
		(f.DedupKey == "" || d.Event.GetDedupKey() == f.DedupKey) &&
		(f.Since.IsZero() || !d.At.Before(f.Since))
}

// DeadLetters returns up to limit (0: all) dead letters of a tenant that
// match f, oldest first.
func (s *Store) DeadLetters(ctx context.Context, tenant string, f DeadLetterFilter, limit int) ([]DeadEntry, error) {
	var out []DeadEntry
	start := "-"
	if !f.Since.IsZero() {
		start = strconv.FormatInt(f.Since.UnixMilli(), 10) // dead ids are their time
	}
	for p := range s.cfg.Partitions {
		msgs, err := s.rdb.XRange(ctx, s.deadKey(tenant, p), start, "+").Result()
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		if len(msgs) == 0 {
			continue
		}
		held, err := s.rdb.HGetAll(ctx, s.heldKey(tenant, p)).Result()
		if err != nil {
			return nil, fmt.Errorf("read held interactions: %w", err)
		}
		for _, m := range msgs {
			d, err := decodeDead(tenant, p, m)
			if err != nil {
				return nil, err
			}
			d.Holds = held[d.OrderKey] == d.ID
			if f.match(d) {
				out = append(out, d)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func decodeDead(tenant string, p int, m redis.XMessage) (DeadEntry, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	num := func(k string) int64 { n, _ := strconv.ParseInt(str(k), 10, 64); return n }
	ev := &eventv1.Event{}
	if err := proto.Unmarshal([]byte(str("e")), ev); err != nil {
		return DeadEntry{}, fmt.Errorf("decode dead letter %s: %w", m.ID, err)
	}
	key := str("key")
	if key == "" {
		key = ev.GetOrderKey()
	}
	return DeadEntry{
		Tenant: tenant, Partition: p, ID: m.ID, Event: ev, Payload: []byte(str("e")), From: str("from"), OrderKey: key,
		DeadLetter: DeadLetter{Reason: str("reason"), Attempts: int(num("attempts")), Status: int(num("status")),
			At: time.UnixMilli(num("at"))},
	}, nil
}

// Replayed is what a replay did with one dead letter.
type Replayed struct {
	Letter DeadEntry
	// Unparked is true when the letter held its interaction: the event is
	// delivered from its own place, before the interaction's later events,
	// which the caller must release (Entry is at that place). Otherwise
	// the event went back to the delivery stream as the new Entry, after
	// what the stream holds.
	Unparked bool
	Entry    Entry
}

// Replay sends dead letters to delivery again, each in one atomic step
// (replayScript): a parked letter is un-parked, any other moved back as a
// new entry. Letters already replayed or dropped by someone else are left
// out. On an error the letters replayed before it are returned with it;
// the others are still dead letters, so replaying again finishes the job.
func (s *Store) Replay(ctx context.Context, dead []DeadEntry) ([]Replayed, error) {
	if len(dead) == 0 {
		return nil, nil
	}
	tokens := map[string]string{}
	for _, d := range dead {
		if _, ok := tokens[d.Tenant]; !ok {
			tok, err := s.fenceToken(d.Tenant)
			if err != nil {
				return nil, fmt.Errorf("replay dead letters: %w", err)
			}
			tokens[d.Tenant] = tok
		}
	}
	cmds, err := s.runScripts(ctx, replayScript, len(dead), func(pipe redis.Pipeliner, sha string, i int) *redis.Cmd {
		d := dead[i]
		return pipe.EvalSha(ctx, sha, []string{s.deadKey(d.Tenant, d.Partition), s.heldKey(d.Tenant, d.Partition),
			s.eventsKey(d.Tenant, d.Partition), s.seenKey(d.Tenant, d.Partition, d.Event.GetDedupKey()), s.fenceKey(d.Tenant, d.Partition)},
			d.ID, d.OrderKey, d.Payload, tokens[d.Tenant])
	})
	err = s.fencedOutcome(cmds, func(i int) string { return dead[i].Tenant }, err)
	var out []Replayed
	for i, c := range cmds {
		if c == nil {
			break
		}
		res, cerr := c.Slice()
		if cerr != nil || len(res) == 0 {
			continue // not run, or failed: still a dead letter
		}
		d := dead[i]
		code, _ := res[0].(int64)
		switch code {
		case 1:
			out = append(out, Replayed{Letter: d, Unparked: true,
				Entry: Entry{Ref: Ref{Tenant: d.Tenant, Partition: d.Partition, ID: d.From}, Event: d.Event, Payload: d.Payload}})
		case 2:
			id, _ := res[1].(string)
			out = append(out, Replayed{Letter: d,
				Entry: Entry{Ref: Ref{Tenant: d.Tenant, Partition: d.Partition, ID: id}, Event: d.Event, Payload: d.Payload}})
		}
	}
	if err != nil {
		return out, fmt.Errorf("replay dead letters: %w", err)
	}
	return out, nil
}
