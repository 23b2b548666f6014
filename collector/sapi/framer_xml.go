package sapi

import "bytes"

// markup is the kind of one XML markup item ("<...>").
type markup int

const (
	markupStartTag markup = iota
	markupEndTag
	markupEmptyTag
	markupOther // declaration, processing instruction, comment, CDATA, DOCTYPE
	markupCutShort
)

// readXMLElement reads one root element and whatever prolog (XML
// declaration, comments) precedes it. Only the nesting depth is tracked, so
// memory stays bounded whatever the element holds.
func (f *Framer) readXMLElement() frameStatus {
	depth, opened := 0, false
	for f.fill() {
		window := f.buf[f.head:f.tail]
		i := bytes.IndexByte(window, '<')
		if i < 0 {
			f.keep(window)
			f.head = f.tail
			continue
		}
		f.keep(window[:i+1])
		f.head += i + 1
		switch f.readMarkup() {
		case markupStartTag:
			depth++
			opened = true
		case markupEndTag:
			depth--
		case markupEmptyTag:
			opened = true
		case markupCutShort:
			return frameCutShort
		}
		if opened && depth <= 0 {
			return frameComplete
		}
	}
	return frameCutShort
}

// readMarkup reads the rest of a markup item whose "<" was just consumed.
// It looks ahead only as far as the item must extend anyway, so a frame's
// final "</root>" never waits for input beyond it.
func (f *Framer) readMarkup() markup {
	switch p := f.peek(1); {
	case len(p) == 0:
		return markupCutShort
	case p[0] == '/':
		return f.readUntil(">", markupEndTag)
	case p[0] == '?':
		return f.readUntil("?>", markupOther)
	case p[0] != '!':
		return f.readTag()
	}
	switch p := f.peek(len("![CDATA[")); {
	case bytes.HasPrefix(p, []byte("!--")):
		return f.readUntil("-->", markupOther)
	case bytes.HasPrefix(p, []byte("![CDATA[")):
		return f.readUntil("]]>", markupOther)
	default:
		return f.readUntil(">", markupOther)
	}
}

// readUntil keeps input up to and including end (at most 4 bytes), then
// reports kind. The last bytes seen are kept packed in an integer so an end
// split across reads, or preceded by a repeat of its first byte ("--->"),
// still matches.
func (f *Framer) readUntil(end string, kind markup) markup {
	var want, seen uint32
	mask := uint32(1)<<(8*len(end)) - 1
	for i := range len(end) {
		want = want<<8 | uint32(end[i])
	}
	for f.fill() {
		window := f.buf[f.head:f.tail]
		for i, b := range window {
			seen = (seen<<8 | uint32(b)) & mask
			if seen == want {
				f.keep(window[:i+1])
				f.head += i + 1
				return kind
			}
		}
		f.keep(window)
		f.head = f.tail
	}
	return markupCutShort
}

// readTag reads a start or empty-element tag, honouring quoted attribute
// values (which may contain ">").
func (f *Framer) readTag() markup {
	var quote, prev byte
	for f.fill() {
		window := f.buf[f.head:f.tail]
		for i, b := range window {
			switch {
			case quote != 0:
				if b == quote {
					quote = 0
				}
			case b == '"' || b == '\'':
				quote = b
			case b == '>':
				f.keep(window[:i+1])
				f.head += i + 1
				if prev == '/' {
					return markupEmptyTag
				}
				return markupStartTag
			}
			prev = b
		}
		f.keep(window)
		f.head = f.tail
	}
	return markupCutShort
}
