package sapi

import "bytes"

// readLine reads up to the next newline; the newline is consumed but not kept.
func (f *Framer) readLine() frameStatus {
	for f.fill() {
		window := f.buf[f.head:f.tail]
		if i := bytes.IndexByte(window, '\n'); i >= 0 {
			f.keep(window[:i])
			f.head += i + 1
			return frameComplete
		}
		f.keep(window)
		f.head = f.tail
	}
	return frameCutShort
}

// readCounted reads a message of n UTF-16 code units, the length an
// Atmosphere "<len>|" prefix announces. Code units are counted from the UTF-8
// bytes: a character is one unit, a 4-byte character (outside the Basic
// Multilingual Plane) is a surrogate pair, two units. The message ends as
// soon as its last character is complete, without waiting for more input:
// on a live stream the next byte may be minutes away.
// In FormatNewlineJSON a newline ends the message whatever the count says.
func (f *Framer) readCounted(n int) frameStatus {
	units, continuation := 0, 0 // continuation: bytes still due for the current character
	lineDelimited := f.format == FormatNewlineJSON
	if n == 0 {
		return frameComplete
	}
	for f.fill() {
		window := f.buf[f.head:f.tail]
		for i, b := range window {
			switch {
			case b&0xC0 == 0x80: // continuation byte
				if continuation > 0 {
					continuation--
				}
			case lineDelimited && b == '\n':
				f.keep(window[:i])
				f.head += i + 1
				return frameComplete
			case units >= n: // the last character was truncated: end before this one
				f.keep(window[:i])
				f.head += i
				return frameComplete
			default:
				units, continuation = units+utf16Units(b), utf8Continuations(b)
			}
			if units >= n && continuation == 0 {
				f.keep(window[:i+1])
				f.head += i + 1
				return frameComplete
			}
		}
		f.keep(window)
		f.head = f.tail
	}
	return frameCutShort
}

// utf8Continuations is how many continuation bytes follow a UTF-8 lead byte.
func utf8Continuations(lead byte) int {
	switch {
	case lead >= 0xF0:
		return 3
	case lead >= 0xE0:
		return 2
	case lead >= 0xC0:
		return 1
	default:
		return 0
	}
}

// utf16Units is how many UTF-16 code units the character starting with lead
// takes.
func utf16Units(lead byte) int {
	if lead >= 0xF0 {
		return 2
	}
	return 1
}

// readJSONObject reads one top-level JSON object by counting brackets outside
// strings. A raw newline before the object closes ends the frame early: the
// object was cut off, and the next event starts after the newline.
func (f *Framer) readJSONObject() frameStatus {
	depth := 0
	inString, escaped := false, false
	for f.fill() {
		window := f.buf[f.head:f.tail]
		for i, b := range window {
			if b == '\n' {
				f.keep(window[:i])
				f.head += i + 1
				return frameComplete
			}
			if inString {
				switch {
				case escaped:
					escaped = false
				case b == '\\':
					escaped = true
				case b == '"':
					inString = false
				}
				continue
			}
			switch b {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					f.keep(window[:i+1])
					f.head += i + 1
					return frameComplete
				}
			}
		}
		f.keep(window)
		f.head = f.tail
	}
	return frameCutShort
}

// readGarbage reads content that does not start an event, in the formats
// whose frames are not lines: up to the next newline or the next possible
// event start, so the following event is not lost.
func (f *Framer) readGarbage() frameStatus {
	var restart byte = '{'
	if f.format.IsXML() {
		restart = '<'
	}
	for f.fill() {
		window := f.buf[f.head:f.tail]
		for i, b := range window {
			switch {
			case b == '\n':
				f.keep(window[:i])
				f.head += i + 1
				return frameComplete
			case b == restart && (i > 0 || f.size > 0):
				f.keep(window[:i])
				f.head += i
				return frameComplete
			}
		}
		f.keep(window)
		f.head = f.tail
	}
	return frameCutShort
}
