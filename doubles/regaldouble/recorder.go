package regaldouble

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"time"
)

// Received is one accepted POST /events request.
type Received struct {
	// At is when the server accepted the request.
	At time.Time
	// APIKeyIndex is the index in Config.APIKeys of the key the request
	// used; the key itself is never recorded.
	APIKeyIndex int
	// Header is the request's header without Authorization.
	Header http.Header
	// Body is the request body as received.
	Body []byte
	// Event is Body decoded. Numbers in Properties are json.Number, so a
	// test can tell 61 from 61.0 and from "61".
	Event Event
}

// record is an accepted request as the server keeps it: the header
// (without Authorization, encoded by appendHeader) and the body share one
// pointer-free allocation, and the event is decoded again from the body
// when asked for. A long run keeps every request, so this keeps the
// garbage collector's work per kept request to one small object instead
// of the maps of a header and a decoded event. data is never modified
// once recorded.
type record struct {
	at       time.Time
	keyIndex int
	data     []byte
	bodyAt   int // where the body starts in data
}

func (r record) body() []byte { return r.data[r.bodyAt:] }

// recordsPerChunk sizes the chunks records are kept in: appending never
// copies the records already kept.
const recordsPerChunk = 1024

// recordLog is the accepted requests in arrival order.
type recordLog struct {
	chunks [][]record
	n      int
}

func (l *recordLog) add(r record) {
	if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == recordsPerChunk {
		l.chunks = append(l.chunks, make([]record, 0, recordsPerChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, r)
	l.n++
}

// snapshot returns the records kept so far; they are immutable, so the
// caller may read them without the lock.
func (l *recordLog) snapshot() []record {
	out := make([]record, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

// Received returns the accepted requests in arrival order. The result
// shares no memory with the server.
func (s *Server) Received() []Received {
	s.mu.Lock()
	records := s.received.snapshot()
	s.mu.Unlock()
	out := make([]Received, len(records))
	for i, r := range records {
		out[i] = r.received()
	}
	return out
}

// received rebuilds the Received the request was recorded from.
func (r record) received() Received {
	body := bytes.Clone(r.body())
	// The body was accepted, so it decodes again to the same event.
	ev, _ := decodeEvent(body)
	return Received{At: r.at, APIKeyIndex: r.keyIndex, Header: decodeHeader(r.data[:r.bodyAt]), Body: body, Event: ev}
}

// Count is the number of accepted requests.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received.n
}

// Requests is the number of POST /events requests seen, whatever their
// answer: accepted, rejected, faulted or none.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Requests
}

// WaitCount blocks until at least n requests have been accepted or ctx is
// done; in the latter case the error tells how many arrived.
func (s *Server) WaitCount(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count := s.received.n
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("regaldouble: %d of %d events received: %w", count, n, ctx.Err())
		case <-changed:
		}
	}
}

// Reset forgets recorded requests, the counters and pending scripted
// faults, and puts the standing conditions back as the Config set them:
// any outage ends, rate-limit buckets start full, the ErrorRate draw
// starts again from Config.Seed.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = recordLog{}
	s.stats = Stats{}
	s.faults = nil
	s.cond = s.cfg.conditions()
	s.buckets = nil
	s.rng = newRand(s.cfg.Seed)
}

// record stores an accepted request, counts it and wakes WaitCount
// callers. The channel they wait on is made only when one waits, so an
// event nobody waits for allocates none.
func (s *Server) record(r record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.count(200, ReasonAccepted)
	s.received.add(r)
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// appendHeader appends h without Authorization to dst, in a form
// decodeHeader turns back into an equal http.Header: the number of keys,
// then each key with its values (a nil value list kept apart from an
// empty one), every count and length as a uvarint.
func appendHeader(dst []byte, h http.Header) []byte {
	keys := len(h)
	if _, ok := h["Authorization"]; ok {
		keys--
	}
	dst = binary.AppendUvarint(dst, uint64(keys))
	for k, vv := range h {
		if k == "Authorization" {
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		if vv == nil {
			dst = binary.AppendUvarint(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(vv))+1)
		for _, v := range vv {
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	}
	return dst
}

// decodeHeader reads what appendHeader wrote into a new header, equal to
// the one Header.Clone would have copied.
func decodeHeader(b []byte) http.Header {
	next := func() int {
		v, n := binary.Uvarint(b)
		b = b[n:]
		return int(v)
	}
	str := func() string {
		n := next()
		s := string(b[:n])
		b = b[n:]
		return s
	}
	keys := next()
	h := make(http.Header, keys)
	var values []string
	for range keys {
		k := str()
		n := next()
		if n == 0 {
			h[k] = nil
			continue
		}
		if n == 1 {
			h[k] = []string{}
			continue
		}
		start := len(values)
		for range n - 1 {
			values = append(values, str())
		}
		h[k] = values[start:len(values):len(values)]
	}
	return h
}
