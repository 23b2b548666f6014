package sapi

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxNesting bounds how deep a payload may nest. SAPI events nest four
// levels; the bound keeps hostile input from exhausting the stack.
const maxNesting = 64

// parseJSON parses one JSON document strictly (RFC 8259) into a value tree.
// It is hand-written because this is the collector's hot path: no
// reflection, no maps, and number literals are kept verbatim. Invalid UTF-8
// in strings becomes U+FFFD, as with encoding/json, so every text can go into
// a protobuf string.
func parseJSON(data []byte) (value, error) {
	p := parsers.Get().(*jsonParser)
	defer p.release()
	p.data, p.pos = data, 0
	p.skipSpace()
	v, err := p.parseValue(0)
	if err != nil {
		return value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return value{}, p.fail("data after the top-level value")
	}
	return v, nil
}

// jsonParser holds the parse position and scratch stacks. Members and items
// are collected on the stacks and copied out once per object or array, so
// each gets one exactly sized allocation instead of repeated growth.
type jsonParser struct {
	data        []byte
	pos         int
	memberStack []member
	itemStack   []value
}

// parsers recycles parsers with their scratch stacks.
var parsers = sync.Pool{New: func() any { return new(jsonParser) }}

// release clears references into the parsed document and returns p to the pool.
func (p *jsonParser) release() {
	clear(p.memberStack[:cap(p.memberStack)])
	clear(p.itemStack[:cap(p.itemStack)])
	p.memberStack, p.itemStack, p.data = p.memberStack[:0], p.itemStack[:0], nil
	parsers.Put(p)
}

func (p *jsonParser) fail(what string) error {
	return fmt.Errorf("%s at offset %d", what, p.pos)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

func (p *jsonParser) parseValue(depth int) (value, error) {
	if p.pos >= len(p.data) {
		return value{}, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.parseObject(depth + 1)
	case c == '[':
		return p.parseArray(depth + 1)
	case c == '"':
		s, err := p.parseString()
		return value{kind: kindString, text: s}, err
	case c == '-' || isDigit(c):
		return p.parseNumber()
	case c == 't':
		return p.parseLiteral("true", value{kind: kindBool, text: "true"})
	case c == 'f':
		return p.parseLiteral("false", value{kind: kindBool, text: "false"})
	case c == 'n':
		return p.parseLiteral("null", value{kind: kindNull})
	default:
		return value{}, p.fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (p *jsonParser) parseLiteral(word string, v value) (value, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return value{}, p.fail("invalid literal")
	}
	p.pos += len(word)
	return v, nil
}

func (p *jsonParser) parseObject(depth int) (value, error) {
	if depth > maxNesting {
		return value{}, p.fail("nesting too deep")
	}
	start := p.pos
	p.pos++ // '{'
	v := value{kind: kindObject}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		v.raw = p.data[start:p.pos]
		return v, nil
	}
	base := len(p.memberStack)
	defer func() { p.memberStack = p.memberStack[:base] }()
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return value{}, p.fail("expected object key")
		}
		key, err := p.parseString()
		if err != nil {
			return value{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return value{}, p.fail("expected ':'")
		}
		p.pos++
		p.skipSpace()
		val, err := p.parseValue(depth)
		if err != nil {
			return value{}, err
		}
		p.memberStack = append(p.memberStack, member{key: key, val: val})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.fail("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			v.raw = p.data[start:p.pos]
			v.members = slices.Clone(p.memberStack[base:])
			return v, nil
		default:
			return value{}, p.fail("expected ',' or '}'")
		}
	}
}

func (p *jsonParser) parseArray(depth int) (value, error) {
	if depth > maxNesting {
		return value{}, p.fail("nesting too deep")
	}
	start := p.pos
	p.pos++ // '['
	v := value{kind: kindArray}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		v.raw = p.data[start:p.pos]
		return v, nil
	}
	base := len(p.itemStack)
	defer func() { p.itemStack = p.itemStack[:base] }()
	for {
		p.skipSpace()
		item, err := p.parseValue(depth)
		if err != nil {
			return value{}, err
		}
		p.itemStack = append(p.itemStack, item)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.fail("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			v.raw = p.data[start:p.pos]
			v.items = slices.Clone(p.itemStack[base:])
			return v, nil
		default:
			return value{}, p.fail("expected ',' or ']'")
		}
	}
}

// parseNumber checks the JSON number grammar and keeps the literal text.
func (p *jsonParser) parseNumber() (value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case p.pos < len(p.data) && isDigit(p.data[p.pos]):
		p.skipDigits()
	default:
		return value{}, p.fail("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if !p.skipDigits() {
			return value{}, p.fail("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.skipDigits() {
			return value{}, p.fail("invalid number")
		}
	}
	return value{kind: kindNumber, text: string(p.data[start:p.pos])}, nil
}

// skipDigits consumes digits and reports whether there was at least one.
func (p *jsonParser) skipDigits() bool {
	start := p.pos
	for p.pos < len(p.data) && isDigit(p.data[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// parseString reads a string literal. The common case, no escapes, costs one
// scan and one allocation.
func (p *jsonParser) parseString() (string, error) {
	start := p.pos + 1
	for i := start; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == '"':
			p.pos = i + 1
			return validUTF8(p.data[start:i]), nil
		case c == '\\':
			return p.parseEscapedString(start, i)
		case c < 0x20:
			p.pos = i
			return "", p.fail("control character in string")
		}
	}
	p.pos = len(p.data)
	return "", p.fail("unterminated string")
}

// parseEscapedString finishes a string whose first escape is at esc.
func (p *jsonParser) parseEscapedString(start, esc int) (string, error) {
	buf := append(make([]byte, 0, esc-start+16), p.data[start:esc]...)
	i := esc
	for i < len(p.data) {
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return validUTF8(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(p.data) {
			break
		}
		switch e := p.data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, width, ok := p.unicodeEscape(i)
			if !ok {
				p.pos = i
				return "", p.fail("invalid \\u escape")
			}
			buf = utf8.AppendRune(buf, r)
			i += width
			continue
		default:
			p.pos = i
			return "", p.fail("invalid escape")
		}
		i += 2
	}
	p.pos = len(p.data)
	return "", p.fail("unterminated string")
}

// unicodeEscape decodes "\uXXXX" at i, joining a surrogate pair when a low
// surrogate escape follows a high one; a lone surrogate becomes U+FFFD.
func (p *jsonParser) unicodeEscape(i int) (r rune, width int, ok bool) {
	r1, ok := hex4(p.data, i+2)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6, true
	}
	if i+12 <= len(p.data) && p.data[i+6] == '\\' && p.data[i+7] == 'u' {
		if r2, ok := hex4(p.data, i+8); ok {
			if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
				return r, 12, true
			}
		}
	}
	return utf8.RuneError, 6, true
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[at : at+4] {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// validUTF8 converts bytes to a string, replacing invalid UTF-8.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return internString(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
