package sapi

import (
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEventBytes is the largest event the collector accepts by default.
// Real SAPI events are a few kilobytes; anything near this size is a broken
// stream rather than an event.
const DefaultMaxEventBytes = 1 << 20

const (
	readBufferSize = 32 << 10
	// maxPrefixDigits bounds an Atmosphere "<len>|" prefix; more digits than
	// this cannot be a message length.
	maxPrefixDigits = 10
	// frameErrorPrefixBytes is how much of a rejected frame FrameError
	// keeps: as much as the collector keeps of any malformed frame by
	// default.
	frameErrorPrefixBytes = 4 << 10
)

// FrameError reports a frame the Framer rejected (today: one longer than
// maxEventBytes). The Framer has already skipped past the frame, so the caller
// can count or store the error and call Next again.
type FrameError struct {
	// Reason says why the frame was rejected, e.g. "event larger than 1048576 bytes".
	Reason string
	// Size is the number of bytes the frame occupied on the wire. The bytes
	// beyond the limit were counted, never buffered.
	Size int
	// Prefix holds the first bytes of the frame (at most 4 KiB), to be kept
	// with the malformed frames.
	Prefix []byte
}

// Error implements error.
func (e *FrameError) Error() string {
	return fmt.Sprintf("sapi: frame rejected: %s (%d bytes)", e.Reason, e.Size)
}

// frameStatus says how a scanner stopped.
type frameStatus int

const (
	// frameComplete: the frame's end was found.
	frameComplete frameStatus = iota
	// frameCutShort: the input ended (or failed) inside the frame.
	frameCutShort
)

// Framer cuts an SAPI streaming body into event frames.
//
// HTTP chunk boundaries are ignored: frames are found in the byte stream
// itself. Between frames the Framer skips whitespace (including Atmosphere's
// 2048-space padding) and lone "X" heartbeat characters, and it accepts an
// optional Atmosphere "<len>|" prefix, len counted in UTF-16 code units; the
// prefix, when present, decides where the message ends.
//
// Without a prefix the frame end depends on the format:
//   - FormatNewlineJSON: a frame is a line. Valid JSON never holds a raw
//     newline, so a truncated or garbled line costs exactly that line.
//   - FormatJSON: a frame is one top-level object, found by counting braces
//     outside strings. 8x8 writes compact JSON, so a raw newline inside an
//     unfinished object means the object was cut off: the frame ends there
//     and the next one starts after it.
//   - FormatXML, FormatNewlineXML: a frame is one root element, including any
//     XML declaration or comment before it.
//
// Content that does not start an event (binary garbage, a stray brace) is
// returned as a frame of its own, up to the next newline or event start, so
// Decode can reject and count it; it never stops the stream.
//
// Memory is bounded: a frame longer than maxEventBytes is skipped while only
// being counted, and Next returns a *FrameError for it.
type Framer struct {
	r      io.Reader
	format Format
	max    int

	buf        []byte
	head, tail int   // unread input is buf[head:tail]
	readErr    error // sticky error from r, surfaced once buf is drained

	frame []byte // current frame, never more than max bytes
	size  int    // bytes the current frame occupies, including skipped ones

	// onPadding, if set, is called for "X" heartbeat padding skipped (once
	// per run of it in one read), as soon as it is read: the Client learns
	// the heartbeat interval from it.
	onPadding func()
}

// NewFramer returns a Framer reading r. maxEventBytes <= 0 means
// DefaultMaxEventBytes.
func NewFramer(r io.Reader, format Format, maxEventBytes int) *Framer {
	if maxEventBytes <= 0 {
		maxEventBytes = DefaultMaxEventBytes
	}
	return &Framer{r: r, format: format, max: maxEventBytes, buf: make([]byte, readBufferSize)}
}

// Next returns the next frame. The slice is only valid until the following
// call; copy it to keep it.
//
// Errors: *FrameError for a rejected frame (call Next again to continue),
// io.EOF at the clean end of the stream, or the reader's error. A frame cut
// short by the end of the stream is still returned (Decode will reject it
// if it is incomplete); one cut short by a read error is not.
func (f *Framer) Next() ([]byte, error) {
	for {
		if !f.skipSeparators() {
			return nil, f.readErr
		}
		f.frame, f.size = f.frame[:0], 0
		status := f.readFrame()
		if status == frameCutShort && !errors.Is(f.readErr, io.EOF) {
			return nil, f.readErr
		}
		if f.size > f.max {
			return nil, &FrameError{
				Reason: fmt.Sprintf("event larger than %d bytes", f.max),
				Size:   f.size,
				Prefix: append([]byte(nil), f.frame[:min(len(f.frame), frameErrorPrefixBytes)]...),
			}
		}
		frame := trimSpace(f.frame)
		if isHeartbeat(frame) {
			// A length-prefixed heartbeat ("1|X") arrives as a frame.
			if len(frame) > 0 {
				f.padding()
			}
			continue
		}
		return frame, nil
	}
}

// readFrame reads one frame into f.frame; the input starts with a byte that
// is not a separator.
func (f *Framer) readFrame() frameStatus {
	first := f.buf[f.head]
	if isDigit(first) {
		if n, ok := f.lengthPrefix(); ok {
			return f.readCounted(n)
		}
	}
	switch {
	case f.format == FormatNewlineJSON:
		return f.readLine()
	case f.format == FormatJSON && first == '{':
		return f.readJSONObject()
	case f.format.IsXML() && first == '<':
		return f.readXMLElement()
	default:
		return f.readGarbage()
	}
}

// fill makes at least one unread byte available. It returns false once the
// input is exhausted; f.readErr then says why.
func (f *Framer) fill() bool {
	if f.head < f.tail {
		return true
	}
	if f.readErr != nil {
		return false
	}
	f.head, f.tail = 0, 0
	for range 100 {
		n, err := f.r.Read(f.buf)
		f.tail = n
		if err != nil {
			f.readErr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	f.readErr = io.ErrNoProgress
	return false
}

// peek returns up to n unread bytes without consuming them, reading more
// input if fewer are buffered.
func (f *Framer) peek(n int) []byte {
	for tries := 0; f.tail-f.head < n && f.readErr == nil; tries++ {
		if tries == 100 {
			f.readErr = io.ErrNoProgress
			break
		}
		if f.head > 0 {
			f.tail = copy(f.buf, f.buf[f.head:f.tail])
			f.head = 0
		}
		m, err := f.r.Read(f.buf[f.tail:])
		f.tail += m
		if err != nil {
			f.readErr = err
		}
	}
	return f.buf[f.head:min(f.tail, f.head+n)]
}

// keep appends input bytes to the current frame while it is within the
// limit, and counts them either way.
func (f *Framer) keep(p []byte) {
	f.size += len(p)
	if room := f.max - len(f.frame); room > 0 {
		f.frame = append(f.frame, p[:min(room, len(p))]...)
	}
}

// skipSeparators consumes whitespace and "X" heartbeats. It returns false
// when the input ends first.
// A run of padding read at once is one heartbeat (reported once per read,
// not once per byte).
func (f *Framer) skipSeparators() bool {
	for f.fill() {
		padded := false
		for f.head < f.tail {
			switch b := f.buf[f.head]; {
			case b == 'X':
				padded = true
			case !isSpace(b):
				if padded {
					f.padding()
				}
				return true
			}
			f.head++
		}
		if padded {
			f.padding()
		}
	}
	return false
}

// lengthPrefix consumes an Atmosphere "<len>|" prefix if one starts the
// input, and returns len. It reads ahead one byte at a time, only as far as
// it must to decide.
func (f *Framer) lengthPrefix() (int, bool) {
	n := 0
	for i := 0; i <= maxPrefixDigits; i++ {
		p := f.peek(i + 1)
		if len(p) <= i {
			return 0, false
		}
		switch b := p[i]; {
		case isDigit(b):
			n = n*10 + int(b-'0')
		case b == '|' && i > 0:
			f.head += i + 1
			return n, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// padding reports an "X" heartbeat.
func (f *Framer) padding() {
	if f.onPadding != nil {
		f.onPadding()
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\r' || b == '\t' }

func isSeparator(b byte) bool { return isSpace(b) || b == 'X' }

// isHeartbeat reports whether a frame carries nothing but heartbeat padding.
func isHeartbeat(frame []byte) bool {
	for _, b := range frame {
		if !isSeparator(b) {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
