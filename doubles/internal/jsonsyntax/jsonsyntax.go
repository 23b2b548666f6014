// Package jsonsyntax scans the tokens of JSON text exactly as
// encoding/json's scanner accepts them, for the doubles' hand-written
// parsers: they skip the scanner's per-byte state machine on every request
// yet must accept and refuse the same inputs as the encoding/json calls
// they stand in for.
package jsonsyntax

import "unicode/utf8"

// MaxDepth is encoding/json's limit on nested arrays and objects.
const MaxDepth = 10000

// String scans the string whose opening quote is b[i] and returns the
// index just past its closing quote. It accepts what the scanner accepts:
// no control characters, only JSON's escapes, any other byte (invalid
// UTF-8 included). escaped reports a backslash escape, ascii that every
// byte is below utf8.RuneSelf.
func String(b []byte, i int) (end int, escaped, ascii, ok bool) {
	ascii = true
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, ascii, true
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for range 4 {
					if i >= len(b) || !isHex(b[i]) {
						return 0, false, false, false
					}
					i++
				}
			default:
				return 0, false, false, false
			}
		case c < 0x20:
			return 0, false, false, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
		}
	}
	return 0, false, false, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? from b[i]
// and returns the index just past it.
func Number(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i, _ = digits(b, i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		if i, ok = digits(b, i+1); !ok {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, ok = digits(b, i); !ok {
			return 0, false
		}
	}
	return i, true
}

// digits returns the index past the run of [0-9] at b[i] and whether the
// run has a digit.
func digits(b []byte, i int) (end int, ok bool) {
	end = i
	for end < len(b) && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	return end, end > i
}

// Literal scans true, false or null from b[i], whichever its first byte
// names, and returns the index just past it and its value.
func Literal(b []byte, i int) (end int, v any, ok bool) {
	var word string
	switch {
	case i >= len(b):
		return 0, nil, false
	case b[i] == 't':
		word, v = "true", true
	case b[i] == 'f':
		word, v = "false", false
	case b[i] == 'n':
		word = "null"
	default:
		return 0, nil, false
	}
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return 0, nil, false
	}
	return i + len(word), v, true
}
