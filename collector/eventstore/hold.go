package eventstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Held is an interaction held behind its parked dead letter (policy hold).
type Held struct {
	Partition int
	OrderKey  string
	// DeadID is the dead letter's id; From is the parked event's id in the
	// delivery stream.
	DeadID string
	From   string
}

// HeldInteractions lists the interactions of one partition held behind a
// parked dead letter: a starting collector holds them before it schedules
// the partition's unsettled events.
func (s *Store) HeldInteractions(ctx context.Context, tenant string, partition int) ([]Held, error) {
	all, err := s.rdb.HGetAll(ctx, s.heldKey(tenant, partition)).Result()
	if err != nil {
		return nil, fmt.Errorf("read held interactions: %w", err)
	}
	if len(all) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(all))
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, 0, len(all))
	for key, id := range all {
		keys = append(keys, key)
		cmds = append(cmds, pipe.XRange(ctx, s.deadKey(tenant, partition), id, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read held dead letters: %w", err)
	}
	out := make([]Held, 0, len(all))
	for i, c := range cmds {
		h := Held{Partition: partition, OrderKey: keys[i], DeadID: all[keys[i]]}
		if msgs := c.Val(); len(msgs) > 0 {
			h.From, _ = msgs[0].Values["from"].(string)
		}
		out = append(out, h)
	}
	return out, nil
}

// Unhold ends every hold of one partition (policy skip after hold): each
// parked event leaves the delivery stream, its dead letter stays (a replay
// then moves it back as a new entry), and the interaction goes on. It
// returns the released order keys.
func (s *Store) Unhold(ctx context.Context, tenant string, partition int) ([]string, error) {
	tok, err := s.fenceToken(tenant)
	if err != nil {
		return nil, fmt.Errorf("end holds: %w", err)
	}
	cmds, err := s.runScripts(ctx, unholdScript, 1, func(pipe redis.Pipeliner, sha string, _ int) *redis.Cmd {
		return pipe.EvalSha(ctx, sha, []string{s.eventsKey(tenant, partition), s.deadKey(tenant, partition), s.heldKey(tenant, partition),
			s.fenceKey(tenant, partition)}, s.cfg.DedupTTL.Milliseconds(), tok)
	})
	if err := s.fencedOutcome(cmds, func(int) string { return tenant }, err); err != nil {
		return nil, fmt.Errorf("end holds: %w", err)
	}
	return cmds[0].StringSlice()
}

// PendingOf returns, in stream order, the unsettled entries of one
// partition from id from (inclusive) whose order key is in keys, grouped
// by order key: the events of released interactions.
func (s *Store) PendingOf(ctx context.Context, tenant string, partition int, from string, keys map[string]bool) (map[string][]Entry, error) {
	out := map[string][]Entry{}
	start := from
	if start == "" {
		start = "-"
	}
	for {
		msgs, err := s.rdb.XRangeN(ctx, s.eventsKey(tenant, partition), start, "+", 1024).Result()
		if err != nil {
			return nil, fmt.Errorf("read unsettled events: %w", err)
		}
		for _, m := range msgs {
			payload, _ := m.Values["e"].(string)
			ev := &eventv1.Event{}
			if err := proto.Unmarshal([]byte(payload), ev); err != nil {
				return nil, fmt.Errorf("decode stored event %s: %w", m.ID, err)
			}
			if k := ev.GetOrderKey(); keys[k] {
				out[k] = append(out[k], Entry{Ref: Ref{Tenant: tenant, Partition: partition, ID: m.ID}, Event: ev, Payload: []byte(payload)})
			}
		}
		if len(msgs) < 1024 {
			return out, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// TrimResult is what one trim of a dead-letter stream dropped.
type TrimResult struct {
	ByAge, ByLength int
	// Released are the interactions whose holding letter was dropped
	// (with its parked event): their later events may go on.
	Released []string
}

// trimBatch bounds the letters one trim call drops per bound, so one
// script does not hold Redis for long.
const trimBatch = 500

// TrimDeadLetters drops the dead letters of one partition beyond the
// configured bounds (older than DeadLetterMaxAge, beyond DeadLetterMaxLen),
// oldest first, and says what it dropped. A dropped letter that held its
// interaction is dropped with its parked event, for good.
func (s *Store) TrimDeadLetters(ctx context.Context, tenant string, partition int, now time.Time) (TrimResult, error) {
	var total TrimResult
	cutoff := strconv.FormatInt(now.Add(-s.cfg.DeadLetterMaxAge).UnixMilli()-1, 10)
	tok, err := s.fenceToken(tenant)
	if err != nil {
		return total, fmt.Errorf("trim dead letters: %w", err)
	}
	for {
		cmds, err := s.runScripts(ctx, trimScript, 1, func(pipe redis.Pipeliner, sha string, _ int) *redis.Cmd {
			return pipe.EvalSha(ctx, sha, []string{s.eventsKey(tenant, partition), s.deadKey(tenant, partition), s.heldKey(tenant, partition),
				s.fenceKey(tenant, partition)}, cutoff, s.cfg.DeadLetterMaxLen, trimBatch, s.cfg.DedupTTL.Milliseconds(), tok)
		})
		if err := s.fencedOutcome(cmds, func(int) string { return tenant }, err); err != nil {
			return total, fmt.Errorf("trim dead letters: %w", err)
		}
		res, err := cmds[0].Slice()
		if err != nil || len(res) < 2 {
			return total, fmt.Errorf("trim dead letters: unexpected reply %v: %w", res, err)
		}
		byAge, _ := res[0].(int64)
		byLen, _ := res[1].(int64)
		total.ByAge += int(byAge)
		total.ByLength += int(byLen)
		for _, k := range res[2:] {
			if key, ok := k.(string); ok {
				total.Released = append(total.Released, key)
			}
		}
		if byAge < trimBatch && byLen < trimBatch {
			return total, nil
		}
	}
}

// DeadLetterFill says how close a tenant's dead-letter streams are to
// their bounds.
type DeadLetterFill struct {
	// Largest is the length of the longest stream; LengthRatio is it over
	// DeadLetterMaxLen.
	Largest     int64
	LengthRatio float64
	// Oldest is when the oldest dead letter was written (zero: none);
	// AgeRatio is its age over DeadLetterMaxAge.
	Oldest   time.Time
	AgeRatio float64
}

// DeadLetterFill measures a tenant's dead-letter streams against their
// bounds, in one round trip.
func (s *Store) DeadLetterFill(ctx context.Context, tenant string, now time.Time) (DeadLetterFill, error) {
	pipe := s.rdb.Pipeline()
	lens := make([]*redis.IntCmd, s.cfg.Partitions)
	firsts := make([]*redis.XMessageSliceCmd, s.cfg.Partitions)
	for p := range s.cfg.Partitions {
		lens[p] = pipe.XLen(ctx, s.deadKey(tenant, p))
		firsts[p] = pipe.XRangeN(ctx, s.deadKey(tenant, p), "-", "+", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return DeadLetterFill{}, fmt.Errorf("measure dead letters: %w", err)
	}
	var f DeadLetterFill
	for p := range s.cfg.Partitions {
		f.Largest = max(f.Largest, lens[p].Val())
		if msgs := firsts[p].Val(); len(msgs) > 0 {
			if id, err := parseIDTime(msgs[0].ID); err == nil && (f.Oldest.IsZero() || id.Before(f.Oldest)) {
				f.Oldest = id
			}
		}
	}
	f.LengthRatio = float64(f.Largest) / float64(s.cfg.DeadLetterMaxLen)
	if !f.Oldest.IsZero() {
		f.AgeRatio = max(now.Sub(f.Oldest), 0).Seconds() / s.cfg.DeadLetterMaxAge.Seconds()
	}
	return f, nil
}

// parseIDTime is the time part of a stream id.
func parseIDTime(id string) (time.Time, error) {
	for i := range len(id) {
		if id[i] == '-' {
			id = id[:i]
			break
		}
	}
	ms, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}
