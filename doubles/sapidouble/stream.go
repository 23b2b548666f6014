package sapidouble

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// atmospherePadding is what Atmosphere's PaddingAtmosphereInterceptor writes
// before the first message.
var atmospherePadding = []byte(strings.Repeat(" ", 2048) + "\n")

// writeTimeout bounds one write, so a client that stopped reading cannot
// hold a stream (and Shutdown) forever.
const writeTimeout = 10 * time.Second

// sink is where one stream's messages go: an HTTP streaming response or a
// WebSocket.
type sink interface {
	// write renders events in the stream's format and sends them.
	write(batch []item) error
	// writeRaw sends b as it is (padding, handshake, idle heartbeat); with
	// nothing to write it only flushes.
	writeRaw(b []byte) error
	// idleFor is how long nothing has been written.
	idleFor() time.Duration
}

// serveStream writes a subscription's events as an HTTP streaming
// response until the stream is cut, replaced, expires, the client leaves
// or the server shuts down.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, tenant string, sub *subscription, st *stream, format outputFormat, trackSize bool) {
	out := &streamWriter{w: w, rc: http.NewResponseController(w), renderer: renderer{format: format, trackSize: trackSize}, lastWrite: time.Now()}
	streamNo := s.openStream()
	if s.cfg.SplitChunks {
		out.split = rand.New(rand.NewPCG(uint64(s.cfg.Seed), uint64(streamNo)))
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	var first []byte
	if s.cfg.Padding {
		first = atmospherePadding
	}
	first = append(bytes.Clone(first), s.openingHandshake(r, out.renderer, streamNo)...)
	s.pump(tenant, sub, st, out, first, r.Context().Done())
}

// openStream counts a new stream and returns its number.
func (s *Server) openStream() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams++
	return s.streams
}

// openingHandshake is the framed Atmosphere protocol handshake when the
// double and the request ask for it, else nil.
func (s *Server) openingHandshake(r *http.Request, out renderer, streamNo int64) []byte {
	if !s.cfg.AtmosphereProtocol || !wantsProtocol(r) {
		return nil
	}
	ids := rand.New(rand.NewPCG(uint64(s.cfg.Seed), uint64(streamNo)))
	return out.frame(handshake(ids, s.cfg.IdleHeartbeatInterval, s.idleHeartbeat()))
}

// pump writes first, then the subscription's events, ClientCheck
// heartbeats and idle padding to out until the stream is cut, replaced,
// expires, the client is gone or the server shuts down.
func (s *Server) pump(tenant string, sub *subscription, st *stream, out sink, first []byte, gone <-chan struct{}) {
	if err := out.writeRaw(first); err != nil {
		return
	}
	idlePadding := s.idleHeartbeat()

	var heartbeat <-chan time.Time
	if s.cfg.HeartbeatInterval > 0 {
		ticker := time.NewTicker(s.cfg.HeartbeatInterval)
		defer ticker.Stop()
		heartbeat = ticker.C
	}
	var idle <-chan time.Time
	if idlePadding != IdleHeartbeatOff {
		ticker := time.NewTicker(s.cfg.IdleHeartbeatInterval / 4)
		defer ticker.Stop()
		idle = ticker.C
	}
	expiry := time.NewTimer(s.cfg.SessionTTL)
	defer expiry.Stop()
	// dueTimer wakes the pump when the next paced event is due.
	dueTimer := time.NewTimer(time.Hour)
	dueTimer.Stop()
	defer dueTimer.Stop()
	for {
		if left, stalled := s.stallLeft(tenant); stalled {
			if !s.waitStall(st, left, expiry.C, gone) {
				return
			}
			continue
		}
		batch, next, attached := s.take(sub, st, time.Now())
		if !attached {
			return
		}
		if len(batch) > 0 {
			if err := out.write(batch); err != nil {
				s.giveBack(sub, batch)
				return
			}
			s.delivered(tenant, sub, batch)
			continue
		}
		var due <-chan time.Time
		if !next.IsZero() {
			dueTimer.Reset(time.Until(next))
			due = dueTimer.C
		}
		select {
		case <-due:
		case <-st.wake:
		case <-heartbeat:
			if err := out.write([]item{{event: s.heartbeat(tenant, sub.id)}}); err != nil {
				return
			}
		case <-idle:
			if out.idleFor() >= s.cfg.IdleHeartbeatInterval {
				if err := out.writeRaw([]byte(idlePadding)); err != nil {
					return
				}
			}
		case <-expiry.C:
			return
		case <-st.end:
			return
		case <-s.done:
			return
		case <-gone:
			return
		}
	}
}

// waitStall waits, writing nothing, until the stall may be over (left
// passed, or a wake-up: Unstall or a new event) and reports whether the
// stream goes on; 0 left waits for a wake-up only.
func (s *Server) waitStall(st *stream, left time.Duration, expiry <-chan time.Time, gone <-chan struct{}) bool {
	var over <-chan time.Time
	if left > 0 {
		t := time.NewTimer(left)
		defer t.Stop()
		over = t.C
	}
	select {
	case <-over:
	case <-st.wake:
	case <-expiry:
		return false
	case <-st.end:
		return false
	case <-s.done:
		return false
	case <-gone:
		return false
	}
	return true
}

// take removes what is pending and due at now for the stream (in order: a
// paced event not yet due holds back the events behind it) and returns
// when the first one held back is due, unless the stream is no longer the
// subscription's.
func (s *Server) take(sub *subscription, st *stream, now time.Time) (batch []item, next time.Time, attached bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub.live != st {
		return nil, time.Time{}, false
	}
	n := 0
	for n < len(sub.pending) && !sub.pending[n].due.After(now) {
		n++
	}
	if n == len(sub.pending) {
		batch, sub.pending = sub.pending, nil
		return batch, time.Time{}, true
	}
	// Capped, so that appending to pending never writes into batch.
	batch, sub.pending = sub.pending[:n:n], sub.pending[n:]
	return batch, sub.pending[0].due, true
}

// giveBack re-queues a batch whose write failed: the client may have read
// part of it, so the next stream may see duplicates, as with 8x8.
func (s *Server) giveBack(sub *subscription, batch []item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub.pending = append(batch, sub.pending...)
}

// delivered records a batch written to a stream: remembered for
// duplicate-on-replay and counted.
func (s *Server) delivered(tenant string, sub *subscription, batch []item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	written := sub.remember(batch, max(recentKept, s.replayLast))
	s.tenantState(tenant).written += int64(written)
}

// heartbeat stamps a ClientCheck; it consumes a sequence number.
func (s *Server) heartbeat(tenant, subsID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return heartbeatJSON(s.tenantState(tenant).nextMsgInfo(time.Now()), subsID, tenant)
}

// renderer formats items as they go on the wire.
type renderer struct {
	format    outputFormat
	trackSize bool // X-Atmosphere-TrackMessageSize: "<length>|" prefixes
}

// streamWriter renders items in the requested format and writes them to
// an HTTP streaming response, flushing after each write.
type streamWriter struct {
	renderer
	w         http.ResponseWriter
	rc        *http.ResponseController
	split     *rand.Rand // non-nil: coalesce and cut at random points
	lastWrite time.Time  // when bytes were last written
	buf       []byte     // the batch being written, reused across batches
}

// maxKeptBatchBytes bounds the batch buffer a stream keeps between
// batches, so a burst does not pin its size for the stream's life. Without
// splitting it also bounds what is rendered ahead of the writes: a
// reconnect's backlog goes out in pieces of about this size.
const maxKeptBatchBytes = 64 << 10

// maxBytesPerDeadline bounds what one write deadline covers. A reader
// that keeps reading, however slowly, is cut only when it takes none of
// these bytes for writeTimeout, as when each event had a write of its
// own; one deadline for a whole backlog cut slow readers again and again.
const maxBytesPerDeadline = 4 << 10

func (o *streamWriter) writeRaw(b []byte) error { return o.writeBytes(b) }

func (o *streamWriter) idleFor() time.Duration { return time.Since(o.lastWrite) }

// write renders the batch into one buffer. Without splitting it goes out
// with one flush (one per maxKeptBatchBytes of a backlog): the batch is
// what was queued when the stream woke, so nothing waits for more, and the
// body carries the same bytes as with a flush per event for a fraction of
// the system calls. With splitting, the buffer is cut at random points,
// flushing after each piece.
func (o *streamWriter) write(batch []item) error {
	buf := o.buf[:0]
	defer func() {
		if cap(buf) <= maxKeptBatchBytes {
			o.buf = buf[:0]
		}
	}()
	var renderErr error
	for _, it := range batch {
		if buf, renderErr = o.appendItem(buf, it); renderErr != nil {
			break
		}
		if o.split == nil && len(buf) >= maxKeptBatchBytes {
			if err := o.writeBytes(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if o.split == nil {
		// Events rendered before one that fails still go out, as when
		// each was written on its own.
		if len(buf) > 0 {
			if err := o.writeBytes(buf); err != nil {
				return err
			}
		}
		return renderErr
	}
	if renderErr != nil {
		return renderErr
	}
	for rest := buf; len(rest) > 0; {
		n := 1 + o.split.IntN(min(len(rest), 64))
		if o.split.IntN(4) == 0 {
			n = 1 + o.split.IntN(len(rest))
		}
		if err := o.writeBytes(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// appendItem appends one item as it goes on the wire.
func (o renderer) appendItem(dst []byte, it item) ([]byte, error) {
	if it.raw {
		return append(dst, it.event...), nil
	}
	msg, newline := it.event, false
	switch o.format {
	case formatNewlineJSON:
		newline = true
	case formatJSON:
	default:
		x, err := jsonToXML(it.event)
		if err != nil {
			return dst, err
		}
		msg, newline = x, o.format == formatNewlineXML
	}
	if o.trackSize {
		n := utf16Len(msg)
		if newline {
			n++
		}
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, '|')
	}
	dst = append(dst, msg...)
	if newline {
		dst = append(dst, '\n')
	}
	return dst, nil
}

// render formats one item as it goes on the wire, in a slice of its own.
func (o renderer) render(it item) ([]byte, error) {
	return o.appendItem(nil, it)
}

// frame adds the "<length>|" prefix when the client asked for
// X-Atmosphere-TrackMessageSize.
func (o renderer) frame(msg []byte) []byte {
	if !o.trackSize {
		return msg
	}
	return append(strconv.AppendInt(nil, int64(utf16Len(msg)), 10), append([]byte("|"), msg...)...)
}

// writeBytes writes and flushes, with a fresh write deadline for every
// maxBytesPerDeadline; with nothing to write it only flushes (sending the
// headers).
func (o *streamWriter) writeBytes(b []byte) error {
	for {
		if err := o.rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		piece := b[:min(len(b), maxBytesPerDeadline)]
		if len(piece) > 0 {
			if _, err := o.w.Write(piece); err != nil {
				return err
			}
			o.lastWrite = time.Now()
		}
		if b = b[len(piece):]; len(b) == 0 {
			return o.rc.Flush()
		}
	}
}

// utf16Len counts UTF-16 code units, the unit of Atmosphere's length prefix.
func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		n += utf16.RuneLen(r)
		b = b[size:]
	}
	return n
}
