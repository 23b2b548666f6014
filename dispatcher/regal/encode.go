package regal

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// encodeBuffers are scratch space for request bodies, so that encoding an
// event allocates only the body it returns.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBuffer keeps an unusually large body's buffer out of the pool.
const maxPooledBuffer = 64 << 10

// encodeEvent returns json.Marshal(ev), byte for byte. It writes the fields
// of Event itself, because json.Marshal spends most of its time reflecting
// over the properties map; values of types it does not know are encoded by
// json.Marshal.
func encodeEvent(ev *Event) ([]byte, error) {
	bp := encodeBuffers.Get().(*[]byte)
	buf, err := appendEvent((*bp)[:0], ev)
	var body []byte
	if err == nil {
		body = slices.Clone(buf)
	}
	if cap(buf) <= maxPooledBuffer {
		*bp = buf
		encodeBuffers.Put(bp)
	}
	if err != nil {
		// json.Marshal reports the failure in its own words.
		return json.Marshal(ev)
	}
	return body, nil
}

// appendEvent appends ev as json.Marshal encodes it, following the field
// order and omitempty options of Event's tags.
func appendEvent(dst []byte, ev *Event) ([]byte, error) {
	if ev == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '{')
	if ev.UserID != "" {
		dst = append(dst, `"userId":`...)
		dst = appendString(dst, ev.UserID)
		dst = append(dst, ',')
	}
	if ev.Traits != nil {
		dst = append(dst, `"traits":`...)
		dst = appendTraits(dst, ev.Traits)
		dst = append(dst, ',')
	}
	dst = append(dst, `"name":`...)
	dst = appendString(dst, ev.Name)
	if len(ev.Properties) > 0 {
		dst = append(dst, `,"properties":`...)
		var err error
		if dst, err = appendProperties(dst, ev.Properties); err != nil {
			return dst, err
		}
	}
	if ev.EventSource != "" {
		dst = append(dst, `,"eventSource":`...)
		dst = appendString(dst, ev.EventSource)
	}
	if ev.OriginalTimestamp != "" {
		dst = append(dst, `,"originalTimestamp":`...)
		dst = appendString(dst, ev.OriginalTimestamp)
	}
	return append(dst, '}'), nil
}

func appendTraits(dst []byte, t *Traits) []byte {
	dst = append(dst, '{')
	if len(t.Phones) > 0 {
		dst = append(dst, `"phones":{`...)
		var buf [4]string
		for i, k := range sortedKeys(buf[:0], t.Phones) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendPhoneTrait(dst, t.Phones[k])
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendPhoneTrait(dst []byte, p PhoneTrait) []byte {
	dst = append(dst, '{')
	if p.Label != "" {
		dst = append(dst, `"label":`...)
		dst = appendString(dst, p.Label)
	}
	if p.IsPrimary != nil {
		if p.Label != "" {
			dst = append(dst, ',')
		}
		dst = append(dst, `"isPrimary":`...)
		dst = strconv.AppendBool(dst, *p.IsPrimary)
	}
	return append(dst, '}')
}

// appendProperties writes the map with its keys sorted, as json.Marshal
// does.
func appendProperties(dst []byte, props map[string]any) ([]byte, error) {
	dst = append(dst, '{')
	var buf [16]string
	for i, k := range sortedKeys(buf[:0], props) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, props[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendValue writes the types translate produces, and hands any other to
// json.Marshal, whose encoding of a value does not depend on where the
// value sits.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(dst, v), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case nil:
		return append(dst, "null"...), nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, data...), nil
}

// sortedKeys appends m's keys to keys in the order json.Marshal writes
// them. Callers pass an array on their stack, large enough for the dozen
// keys of a translated event, so that no allocation is needed.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}

const hexDigits = "0123456789abcdef"

// invalidUTF8 is what json.Marshal writes for each byte of invalid UTF-8:
// the escape \ufffd, or since encoding/json runs on its v2 implementation
// (Go 1.27) U+FFFD itself. Asking it once keeps encodeEvent byte for byte
// equal to json.Marshal under either.
var invalidUTF8 = func() string {
	b, err := json.Marshal("\xff")
	if err != nil || len(b) < 2 {
		return `\ufffd`
	}
	return string(b[1 : len(b)-1])
}()

// appendString quotes s as json.Marshal does: HTML-sensitive characters,
// control characters, U+2028 and U+2029 are escaped, and invalid UTF-8
// becomes U+FFFD (see invalidUTF8).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, invalidUTF8...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
