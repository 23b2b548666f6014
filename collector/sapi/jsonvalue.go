package sapi

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxNesting bounds how deep a payload may nest. SAPI events nest four
// levels; the bound keeps hostile input from exhausting the stack.
const maxNesting = 64

// parseJSON parses one JSON document strictly (RFC 8259) into d, the
// document as node 0. It is hand-written because this is the collector's hot
// path: no reflection, no maps, no per-value allocation, and number literals
// are kept verbatim. Invalid UTF-8 in strings becomes U+FFFD, as with
// encoding/json, so every text can go into a protobuf string.
func (d *document) parseJSON(data []byte) error {
	d.reset(data)
	p := jsonParser{doc: d, data: data}
	p.skipSpace()
	if err := p.parseValue(0); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return p.fail("data after the top-level value")
	}
	return nil
}

// jsonParser is the parse position in a frame; nodes go to doc.
type jsonParser struct {
	doc  *document
	data []byte
	pos  int
	// multibyte counts the strings read so far that hold non-ASCII bytes:
	// only then can the wire bytes of a composite value be invalid UTF-8.
	multibyte int
}

func (p *jsonParser) fail(what string) error {
	return fmt.Errorf("%s at offset %d", what, p.pos)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

// add appends a scalar node.
func (p *jsonParser) add(kind valueKind, text span) {
	p.doc.nodes = append(p.doc.nodes, node{kind: kind, text: text})
	p.doc.nodes[len(p.doc.nodes)-1].end = len(p.doc.nodes)
}

// open appends a composite node, to be completed by close.
func (p *jsonParser) open(kind valueKind) int {
	p.doc.nodes = append(p.doc.nodes, node{kind: kind})
	return len(p.doc.nodes) - 1
}

// close completes composite node i, which started at wire offset start;
// multibyte is p.multibyte when the node was opened.
func (p *jsonParser) close(i, start, multibyte int) {
	text := span{start: start, end: p.pos}
	if p.multibyte != multibyte && !utf8.Valid(p.data[start:p.pos]) {
		// A composite value's text is its wire bytes; invalid UTF-8 in them
		// is replaced as in strings, so that the text fits a protobuf string.
		text = p.doc.keep(bytes.ToValidUTF8(p.data[start:p.pos], []byte("\uFFFD")))
	}
	nd := &p.doc.nodes[i]
	nd.text = text
	nd.end = len(p.doc.nodes)
}

func (p *jsonParser) parseValue(depth int) error {
	if p.pos >= len(p.data) {
		return p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.parseObject(depth + 1)
	case c == '[':
		return p.parseArray(depth + 1)
	case c == '"':
		s, err := p.parseString()
		if err != nil {
			return err
		}
		p.add(kindString, s)
		return nil
	case c == '-' || isDigit(c):
		return p.parseNumber()
	case c == 't':
		return p.parseLiteral("true", kindBool)
	case c == 'f':
		return p.parseLiteral("false", kindBool)
	case c == 'n':
		return p.parseLiteral("null", kindNull)
	default:
		return p.fail(fmt.Sprintf("unexpected %q", c))
	}
}

// parseLiteral reads true, false or null. A boolean's text is its literal;
// null has none.
func (p *jsonParser) parseLiteral(word string, kind valueKind) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail("invalid literal")
	}
	text := span{start: p.pos, end: p.pos + len(word)}
	if kind == kindNull {
		text = span{}
	}
	p.pos += len(word)
	p.add(kind, text)
	return nil
}

func (p *jsonParser) parseObject(depth int) error {
	if depth > maxNesting {
		return p.fail("nesting too deep")
	}
	start := p.pos
	p.pos++ // '{'
	self, multibyte := p.open(kindObject), p.multibyte
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.close(self, start, multibyte)
		return nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.fail("expected object key")
		}
		key, err := p.parseString()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.fail("expected ':'")
		}
		p.pos++
		p.skipSpace()
		member := len(p.doc.nodes)
		if err := p.parseValue(depth); err != nil {
			return err
		}
		p.doc.nodes[member].key = key
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.fail("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.close(self, start, multibyte)
			return nil
		default:
			return p.fail("expected ',' or '}'")
		}
	}
}

func (p *jsonParser) parseArray(depth int) error {
	if depth > maxNesting {
		return p.fail("nesting too deep")
	}
	start := p.pos
	p.pos++ // '['
	self, multibyte := p.open(kindArray), p.multibyte
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.close(self, start, multibyte)
		return nil
	}
	for {
		p.skipSpace()
		if err := p.parseValue(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.fail("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.close(self, start, multibyte)
			return nil
		default:
			return p.fail("expected ',' or ']'")
		}
	}
}

// parseNumber checks the JSON number grammar and keeps the literal text.
func (p *jsonParser) parseNumber() error {
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
		return p.fail("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if !p.skipDigits() {
			return p.fail("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.skipDigits() {
			return p.fail("invalid number")
		}
	}
	p.add(kindNumber, span{start: start, end: p.pos})
	return nil
}

// skipDigits consumes digits and reports whether there was at least one.
func (p *jsonParser) skipDigits() bool {
	start := p.pos
	for p.pos < len(p.data) && isDigit(p.data[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// plainStringByte marks the bytes a string literal holds as they are:
// printable ASCII other than '"' and '\\'. One table lookup per byte keeps
// the scan of the common all-ASCII string tight.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// parseString reads a string literal. The common case, plain ASCII without
// escapes, is one scan and leaves the text in the frame.
func (p *jsonParser) parseString() (span, error) {
	start := p.pos + 1
	multibyte := false
	for i := start; i < len(p.data); i++ {
		c := p.data[i]
		if plainStringByte[c] {
			continue
		}
		switch {
		case c == '"':
			p.pos = i + 1
			if !multibyte {
				return span{start: start, end: i}, nil
			}
			p.multibyte++
			if !utf8.Valid(p.data[start:i]) {
				return p.doc.keep(bytes.ToValidUTF8(p.data[start:i], []byte("\uFFFD"))), nil
			}
			return span{start: start, end: i}, nil
		case c == '\\':
			return p.parseEscapedString(start, i, multibyte)
		case c < 0x20:
			p.pos = i
			return span{}, p.fail("control character in string")
		default:
			multibyte = true
		}
	}
	p.pos = len(p.data)
	return span{}, p.fail("unterminated string")
}

// parseEscapedString finishes a string whose first escape is at esc,
// writing its decoded text to the scratch space; multibyte says whether the
// bytes before esc include non-ASCII ones.
func (p *jsonParser) parseEscapedString(start, esc int, multibyte bool) (span, error) {
	d := p.doc
	from := len(d.scratch)
	buf := append(d.scratch, p.data[start:esc]...)
	i := esc
	for i < len(p.data) {
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			if multibyte {
				p.multibyte++
			}
			if text := buf[from:]; !utf8.Valid(text) {
				buf = append(buf[:from], bytes.ToValidUTF8(text, []byte("\uFFFD"))...)
			}
			d.scratch = buf
			return d.scratchSpan(from, len(buf)), nil
		case c < 0x20:
			p.pos = i
			return span{}, p.fail("control character in string")
		case c != '\\':
			multibyte = multibyte || c >= utf8.RuneSelf
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
				return span{}, p.fail("invalid \\u escape")
			}
			buf = utf8.AppendRune(buf, r)
			i += width
			continue
		default:
			p.pos = i
			return span{}, p.fail("invalid escape")
		}
		i += 2
	}
	p.pos = len(p.data)
	return span{}, p.fail("unterminated string")
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
