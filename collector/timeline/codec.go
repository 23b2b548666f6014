package timeline

import (
	"errors"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The stored values are protobuf wire format written by hand: compact,
// and old values stay readable when fields are added. Field numbers are
// stored: never renumber them.

// Caps on free text stored per change, so an event's size stays bounded.
const (
	maxReasonBytes     = 512
	maxDispatcherBytes = 128
)

var errCorrupt = errors.New("timeline: corrupt stored value")

// eventRecord is the value of an event key.
type eventRecord struct {
	event        []byte // eventv1.Event, raw capped
	dims         Dims
	rawTruncated bool
}

// encode writes the event compressed (field 8, S2) when that is smaller,
// else as is (field 1). Field 7 (DEFLATE) is only read.
func (r eventRecord) encode() []byte {
	var b []byte
	compressTo(r.event, func(z []byte) {
		num, body := protowire.Number(8), z
		if z == nil {
			num, body = 1, r.event
		}
		b = make([]byte, 0, len(body)+64+len(r.dims.Phone)+16*len(r.dims.Agents))
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, body)
	})
	b = appendString(b, 2, r.dims.Phone)
	b = appendInt(b, 3, r.dims.CampaignID)
	b = appendInt(b, 4, r.dims.QueueID)
	for _, a := range r.dims.Agents {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, a)
	}
	if r.rawTruncated {
		b = appendInt(b, 6, 1)
	}
	return b
}

// decodeEventRecord reads an event record; limit bounds the inflated
// event.
func decodeEventRecord(b []byte, limit int) (eventRecord, error) {
	var r eventRecord
	var deflated, compressed []byte
	err := eachField(b, func(num protowire.Number, v uint64, bytes []byte) {
		switch num {
		case 1:
			r.event = bytes
		case 7:
			deflated = bytes
		case 8:
			compressed = bytes
		case 2:
			r.dims.Phone = string(bytes)
		case 3:
			r.dims.CampaignID = int64(v)
		case 4:
			r.dims.QueueID = int64(v)
		case 5:
			r.dims.Agents = append(r.dims.Agents, string(bytes))
		case 6:
			r.rawTruncated = v == 1
		}
	})
	switch {
	case err != nil:
	case compressed != nil:
		r.event, err = decompress(compressed, limit)
	case deflated != nil:
		r.event, err = inflate(deflated, limit)
	}
	return r, err
}

// storedState is the value of a summary's s:<event> field: the event's
// latest state (its counters live in their own fields).
type storedState struct {
	state       State
	at          time.Time
	regalStatus int
	redelivery  int
	dispatcher  string
	reason      string
}

func (s storedState) encode() []byte {
	b := make([]byte, 0, 32+len(s.reason))
	b = appendInt(b, 1, int64(s.state))
	b = appendInt(b, 2, s.at.UnixMilli())
	b = appendInt(b, 3, int64(s.regalStatus))
	b = appendInt(b, 4, int64(s.redelivery))
	b = appendString(b, 5, capText(s.dispatcher, maxDispatcherBytes))
	b = appendString(b, 6, capText(s.reason, maxReasonBytes))
	return b
}

func decodeState(b []byte) (storedState, error) {
	var s storedState
	err := eachField(b, func(num protowire.Number, v uint64, bytes []byte) {
		switch num {
		case 1:
			s.state = State(v)
		case 2:
			s.at = time.UnixMilli(int64(v))
		case 3:
			s.regalStatus = int(v)
		case 4:
			s.redelivery = int(v)
		case 5:
			s.dispatcher = string(bytes)
		case 6:
			s.reason = string(bytes)
		}
	})
	return s, err
}

// historyEntry is one entry of an interaction's history stream.
type historyEntry struct {
	eventID string
	change  Change // Event and Payload are not stored
}

func (h historyEntry) encode() []byte {
	c := h.change
	b := make([]byte, 0, 64+len(c.Reason))
	b = appendInt(b, 1, int64(c.Type))
	b = appendString(b, 2, h.eventID)
	b = appendInt(b, 3, c.At.UnixMilli())
	b = appendInt(b, 4, storedVerdict(c.Verdict))
	b = appendInt(b, 5, int64(c.RegalStatus))
	b = appendInt(b, 6, int64(c.Attempts))
	b = appendString(b, 7, capText(c.Reason, maxReasonBytes))
	b = appendString(b, 8, capText(c.Dispatcher, maxDispatcherBytes))
	b = appendInt(b, 9, int64(c.Redelivery))
	return b
}

func decodeHistoryEntry(b []byte) (historyEntry, error) {
	var h historyEntry
	err := eachField(b, func(num protowire.Number, v uint64, bytes []byte) {
		c := &h.change
		switch num {
		case 1:
			c.Type = ChangeType(v)
		case 2:
			h.eventID = string(bytes)
		case 3:
			c.At = time.UnixMilli(int64(v))
		case 4:
			c.Verdict = verdictOf(int64(v))
		case 5:
			c.RegalStatus = int(v)
		case 6:
			c.Attempts = int(v)
		case 7:
			c.Reason = string(bytes)
		case 8:
			c.Dispatcher = string(bytes)
		case 9:
			c.Redelivery = int(v)
		}
	})
	return h, err
}

// appendInt appends a varint field; zero is omitted (the decoded default).
func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// appendString appends a length-delimited field; empty is omitted.
func appendString(b []byte, num protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// eachField calls f for every varint and length-delimited field of b and
// skips other wire types (left for future fields).
func eachField(b []byte, f func(num protowire.Number, v uint64, bytes []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errCorrupt
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errCorrupt
			}
			f(num, v, nil)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errCorrupt
			}
			f(num, 0, v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errCorrupt
			}
			b = b[n:]
		}
	}
	return nil
}

// capText cuts s to at most n bytes, at a rune boundary.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !runeStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }
