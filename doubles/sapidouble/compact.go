package sapidouble

import "github.com/ccbridge/bridge/doubles/internal/jsonsyntax"

// isCompactJSON reports whether b is one JSON value without any
// whitespace outside its strings: then json.Compact would accept it and
// return it unchanged. It follows the grammar encoding/json's scanner
// enforces, nesting limit included; anything it does not accept is left
// to json.Compact to compact or reject.
func isCompactJSON(b []byte) bool {
	end, ok := compactValue(b, 0, 0)
	return ok && end == len(b)
}

// compactValue checks the compact value at b[i], nested in depth arrays
// and objects, and returns the index just past it.
func compactValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '{':
		return compactContainer(b, i, depth+1, '}')
	case c == '[':
		return compactContainer(b, i, depth+1, ']')
	case c == '"':
		end, _, _, ok := jsonsyntax.String(b, i)
		return end, ok
	case c == '-' || c >= '0' && c <= '9':
		return jsonsyntax.Number(b, i)
	}
	end, _, ok := jsonsyntax.Literal(b, i)
	return end, ok
}

// compactContainer checks the object (members "key":value) or array
// opening at b[i] and closed by end.
func compactContainer(b []byte, i, depth int, end byte) (int, bool) {
	if depth > jsonsyntax.MaxDepth {
		return 0, false
	}
	i++ // { or [
	if i < len(b) && b[i] == end {
		return i + 1, true
	}
	for {
		ok := true
		if end == '}' {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			if i, _, _, ok = jsonsyntax.String(b, i); !ok || i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i++
		}
		if i, ok = compactValue(b, i, depth); !ok || i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i++
		case end:
			return i + 1, true
		default:
			return 0, false
		}
	}
}
