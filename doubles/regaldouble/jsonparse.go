package regaldouble

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/ccbridge/bridge/doubles/internal/jsonsyntax"
)

// parseDocument decodes body as json.Decoder with UseNumber decodes one
// value into an any, followed by nothing but whitespace (decodeStrict),
// without the decoder's reflection and double scan: objects become
// map[string]any (a repeated key keeps its last value), arrays []any,
// numbers json.Number, strings string. It accepts exactly what the
// decoder accepts; ok is false for anything else. dups reports that some
// object repeated a key, which the struct decoder treats differently.
func parseDocument(body []byte) (doc any, dups, ok bool) {
	p := docParser{b: body}
	p.skipSpace()
	doc, ok = p.value()
	if !ok {
		return nil, false, false
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return nil, false, false
	}
	return doc, p.dups, true
}

// docParser is the state of parseDocument.
type docParser struct {
	b     []byte
	i     int
	depth int
	dups  bool
}

func (p *docParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value parses the value at p.i, which is not whitespace.
func (p *docParser) value() (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	var (
		v   any
		end int
		ok  bool
	)
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, ok := p.str()
		return s, ok
	case c == '-' || c >= '0' && c <= '9':
		// Its text, as UseNumber keeps it.
		if end, ok = jsonsyntax.Number(p.b, p.i); ok {
			v = json.Number(p.b[p.i:end])
		}
	default:
		end, v, ok = jsonsyntax.Literal(p.b, p.i)
	}
	if !ok {
		return nil, false
	}
	p.i = end
	return v, true
}

// open enters the array or object at p.i and reports whether it closes
// at once with end; it refuses what encoding/json's scanner refuses.
func (p *docParser) open(end byte) (empty, ok bool) {
	p.depth++
	if p.depth > jsonsyntax.MaxDepth {
		return false, false
	}
	p.i++ // { or [
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == end {
		p.i++
		p.depth--
		return true, true
	}
	return false, true
}

// next reads what follows an element of the array or object closed by
// end: a comma (more reports another element follows) or end itself.
func (p *docParser) next(end byte) (more, ok bool) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return false, false
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		p.skipSpace()
		return true, true
	case end:
		p.i++
		p.depth--
		return false, true
	}
	return false, false
}

func (p *docParser) object() (any, bool) {
	empty, ok := p.open('}')
	if !ok {
		return nil, false
	}
	m := make(map[string]any)
	for members, more := 0, !empty; more; {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.skipSpace()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		m[key] = v
		members++
		if more, ok = p.next('}'); !ok {
			return nil, false
		}
		if !more && len(m) != members {
			p.dups = true
		}
	}
	return m, true
}

func (p *docParser) array() (any, bool) {
	empty, ok := p.open(']')
	if !ok {
		return nil, false
	}
	a := make([]any, 0)
	for more := !empty; more; {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if more, ok = p.next(']'); !ok {
			return nil, false
		}
	}
	return a, true
}

// str parses the string at p.i. Plain strings (no escape, valid UTF-8)
// are converted directly; the rest are left to encoding/json so that
// escapes and invalid UTF-8 come out exactly as it unquotes them.
func (p *docParser) str() (string, bool) {
	end, escaped, ascii, ok := jsonsyntax.String(p.b, p.i)
	if !ok {
		return "", false
	}
	quoted := p.b[p.i:end]
	p.i = end
	if raw := quoted[1 : len(quoted)-1]; !escaped && (ascii || utf8.Valid(raw)) {
		return string(raw), true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}
