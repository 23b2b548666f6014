package timeline

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// hashWrites are one batch's writes to one summary hash, merged into as
// few commands as leave the hash as the writes one by one would: one HSET
// for every field set (the last value of each), an HSETNX only for a
// field nothing in the batch sets (the first value), one HINCRBY per
// counter (the sum).
type hashWrites struct {
	key, hist string
	fields    []string // set, in first-write order
	values    []any
	index     map[string]int // fields' positions, once there are many
	nx        []nxField
	counters  []*counter
	expire    bool  // the TTL is due (keyMemo)
	known     uint8 // head fields Redis has (keyMemo)
	wrote     uint8 // head fields this batch writes
}

type nxField struct {
	field   string
	value   any
	dropped bool // a later set of the field overrides it
}

type counter struct {
	field string
	by    int64
	cmd   *redis.IntCmd
}

// counterRef is one increment's view of a merged counter: the counter's
// value right after it is the final value less the increments after it.
type counterRef struct {
	c    *counter
	upTo int64 // the counter's increments up to this one, included
}

func (r counterRef) val() int64 {
	if r.c == nil || r.c.cmd == nil {
		return 0
	}
	return r.c.cmd.Val() - (r.c.by - r.upTo)
}

// indexFrom is the number of fields above which they are looked up in a
// map rather than scanned.
const indexFrom = 16

func (h *hashWrites) find(field string) int {
	if h.index != nil {
		if i, ok := h.index[field]; ok {
			return i
		}
		return -1
	}
	for i, f := range h.fields {
		if f == field {
			return i
		}
	}
	return -1
}

// set is HSET field value.
func (h *hashWrites) set(field string, value any) {
	if i := h.find(field); i >= 0 {
		h.values[i] = value
		return
	}
	for i := range h.nx {
		if h.nx[i].field == field {
			h.nx[i].dropped = true
		}
	}
	h.fields, h.values = append(h.fields, field), append(h.values, value)
	switch {
	case h.index != nil:
		h.index[field] = len(h.fields) - 1
	case len(h.fields) > indexFrom:
		h.index = make(map[string]int, 2*len(h.fields))
		for i, f := range h.fields {
			h.index[f] = i
		}
	}
}

// setNX is HSETNX field value: nothing when the batch already wrote the
// field.
func (h *hashWrites) setNX(field string, value any) {
	if h.find(field) >= 0 {
		return
	}
	for _, f := range h.nx {
		if f.field == field && !f.dropped {
			return
		}
	}
	h.nx = append(h.nx, nxField{field: field, value: value})
}

// setHead is setNX of a head field (one that keeps its first value),
// left out when Redis is known to have it.
func (h *hashWrites) setHead(bit uint8, field string, value any) {
	if (h.known|h.wrote)&bit != 0 {
		return
	}
	h.setNX(field, value)
	h.wrote |= bit
}

// incrBy is HINCRBY field by.
func (h *hashWrites) incrBy(field string, by int64) counterRef {
	for _, c := range h.counters {
		if c.field == field {
			c.by += by
			return counterRef{c: c, upTo: c.by}
		}
	}
	c := &counter{field: field, by: by}
	h.counters = append(h.counters, c)
	return counterRef{c: c, upTo: by}
}

// flush adds the merged writes to pipe.
func (h *hashWrites) flush(ctx context.Context, pipe redis.Pipeliner) {
	if len(h.fields) > 0 {
		args := make([]any, 0, 2*len(h.fields))
		for i, f := range h.fields {
			args = append(args, f, h.values[i])
		}
		pipe.HSet(ctx, h.key, args...)
	}
	for _, f := range h.nx {
		if !f.dropped {
			pipe.HSetNX(ctx, h.key, f.field, f.value)
		}
	}
	for _, c := range h.counters {
		c.cmd = pipe.HIncrBy(ctx, h.key, c.field, c.by)
	}
}
