package eventstore

import (
	"context"
	"errors"
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
		for _, m := range msgs {
			d, err := decodeDead(tenant, p, m)
			if err != nil {
				return nil, err
			}
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
	return DeadEntry{
		Tenant: tenant, Partition: p, ID: m.ID, Event: ev, Payload: []byte(str("e")), From: str("from"),
		DeadLetter: DeadLetter{Reason: str("reason"), Attempts: int(num("attempts")), Status: int(num("status")),
			At: time.UnixMilli(num("at"))},
	}, nil
}

// Revive moves dead letters back to their delivery streams, in order, and
// returns the new entries (to be scheduled). Letters already revived by
// someone else are left out.
func (s *Store) Revive(ctx context.Context, dead []DeadEntry) ([]Entry, error) {
	if len(dead) == 0 {
		return nil, nil
	}
	cmds, err := s.runScripts(ctx, reviveScript, len(dead), func(pipe redis.Pipeliner, sha string, i int) *redis.Cmd {
		d := dead[i]
		return pipe.EvalSha(ctx, sha, []string{s.deadKey(d.Tenant, d.Partition), s.eventsKey(d.Tenant, d.Partition),
			s.seenKey(d.Tenant, d.Partition, d.Event.GetDedupKey())}, d.ID, d.Payload)
	})
	if err != nil {
		return nil, fmt.Errorf("revive dead letters: %w", err)
	}
	var out []Entry
	for i, c := range cmds {
		id, err := c.Text()
		if errors.Is(err, redis.Nil) {
			continue // revived by someone else
		}
		if err != nil {
			return out, fmt.Errorf("revive dead letter %s: %w", dead[i].ID, err)
		}
		d := dead[i]
		out = append(out, Entry{Ref: Ref{Tenant: d.Tenant, Partition: d.Partition, ID: id}, Event: d.Event, Payload: d.Payload})
	}
	return out, nil
}
