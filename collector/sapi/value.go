package sapi

import (
	"math"
	"strconv"
	"strings"
	"sync"
)

// valueKind is the JSON type of a parsed value. XML leaves are strings.
type valueKind uint8

const (
	kindNull valueKind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

// span locates a text by its offsets in the frame or, past the frame's end,
// in the document's scratch space, where texts that had to be rewritten go
// (escapes, invalid UTF-8, XML text).
type span struct{ start, end int }

// node is one value of a parsed document. It keeps what decoding and the
// dedup key need and nothing more: scalars as their literal text (so a phone
// number sent as a JSON number stays "5515557212"), object members in wire
// order, and the wire bytes of composite JSON values.
//
// Nodes live in one flat slice in document order, each object or array
// followed by its descendants; a node holds no pointers, so a parse into a
// pooled document allocates nothing and leaves the GC nothing to scan.
type node struct {
	kind valueKind
	key  span // member key, when the parent is an object
	text span // string content, number literal, "true"/"false"; wire bytes of a JSON object or array
	end  int  // index just past the node's descendants, i.e. of its next sibling
}

// absent is the index of a missing value. Node 0 is the whole document,
// never a member's value, so the zero index can mean "not there".
const absent = 0

// document is a parsed frame with the scratch space decoding needs. It is
// pooled: Decode builds no tree of its own and copies out only the strings
// that end up in the Event.
type document struct {
	data    []byte   // the frame; JSON spans point into it
	nodes   []node   // node 0 is the document; for an event, node 1 is the event object
	scratch []byte   // rewritten texts
	canon   []byte   // canonical form hashed into the dedup key
	order   []int    // object members being sorted for the canonical form
	pairs   [][2]int // length of each attachedData key and value in strs
	strs    []byte   // attachedData keys and values, turned into one string
}

// maxPooledBytes and maxPooledNodes bound what a pooled document keeps, so
// one huge frame does not pin its buffers for the life of the process. A
// SAPI event is a few kilobytes and a hundred or so values.
const (
	maxPooledBytes = 256 << 10
	maxPooledNodes = 8 << 10
)

var documents = sync.Pool{New: func() any { return new(document) }}

func getDocument() *document { return documents.Get().(*document) }

// release returns d to the pool, dropping the frame and oversized buffers.
func (d *document) release() {
	d.data = nil
	if cap(d.nodes) > maxPooledNodes || cap(d.order) > maxPooledNodes || cap(d.pairs) > maxPooledNodes ||
		cap(d.scratch) > maxPooledBytes || cap(d.canon) > maxPooledBytes || cap(d.strs) > maxPooledBytes {
		return
	}
	documents.Put(d)
}

// reset prepares d to parse data.
func (d *document) reset(data []byte) {
	d.data = data
	d.nodes = d.nodes[:0]
	d.scratch = d.scratch[:0]
}

// bytes returns the text s locates. The slice is only valid while d is.
func (d *document) bytes(s span) []byte {
	if n := len(d.data); s.start >= n {
		return d.scratch[s.start-n : s.end-n]
	}
	return d.data[s.start:s.end]
}

// keep copies text into the scratch space and returns where it is.
func (d *document) keep(text []byte) span {
	start := len(d.scratch)
	d.scratch = append(d.scratch, text...)
	return d.scratchSpan(start, len(d.scratch))
}

// scratchSpan returns the span of d.scratch[start:end].
func (d *document) scratchSpan(start, end int) span {
	return span{start: len(d.data) + start, end: len(d.data) + end}
}

// count returns the number of members or items of node i.
func (d *document) count(i int) int {
	n := 0
	for c := i + 1; c < d.nodes[i].end; c = d.nodes[c].end {
		n++
	}
	return n
}

// key returns the member key of node i.
func (d *document) key(i int) []byte { return d.bytes(d.nodes[i].key) }

// get returns the index of key's value in object i (the last one if the key
// repeats, as encoding/json does), or absent.
func (d *document) get(i int, key string) int {
	if i == absent || d.nodes[i].kind != kindObject {
		return absent
	}
	found := absent
	for c := i + 1; c < d.nodes[i].end; c = d.nodes[c].end {
		if string(d.key(c)) == key {
			found = c
		}
	}
	return found
}

// rawText is textOf without the copy.
func (d *document) rawText(i int) []byte {
	if i == absent {
		return nil
	}
	return d.bytes(d.nodes[i].text)
}

// textOf returns a value in textual form: strings as their content, numbers
// as their literal, booleans as "true"/"false", null and absence as "", and
// composite JSON values as their wire bytes. The string is the value's own
// copy (or an interned name), so it can outlive d.
func (d *document) textOf(i int) string { return internString(d.rawText(i)) }

// isScalarText reports whether i is a number or a string, the kinds a
// number may arrive as.
func (d *document) isScalarText(i int) bool {
	return i != absent && (d.nodes[i].kind == kindNumber || d.nodes[i].kind == kindString)
}

// intOf reads a whole number sent as a JSON number or as a string, in plain
// or exponent notation ("591", 591, 5.91e2).
func (d *document) intOf(i int) (int64, bool) {
	if !d.isScalarText(i) {
		return 0, false
	}
	b := d.rawText(i)
	if n, ok := plainInt(b); ok {
		return n, true
	}
	if len(b) == 0 {
		return 0, false
	}
	return parseWhole(string(b))
}

// floatOf reads a number sent as a JSON number or as a string.
func (d *document) floatOf(i int) (float64, bool) {
	if !d.isScalarText(i) {
		return 0, false
	}
	b := d.rawText(i)
	if len(b) > 0 && len(b) <= 15 && isDigit(b[0]) {
		// Up to 15 digits are exact in a float64: this is what ParseFloat
		// returns, without converting the text to a string.
		if n, ok := plainInt(b); ok {
			return float64(n), true
		}
	}
	if len(b) == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// plainInt reads an optional sign and 1 to 18 decimal digits, the common
// form of SAPI numbers. No such number overflows an int64, so the result is
// the one strconv.ParseInt gives; anything else is left to parseWhole.
func plainInt[T string | []byte](b T) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(b); i++ {
		if !isDigit(b[i]) {
			return 0, false
		}
		n = n*10 + int64(b[i]-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseWhole parses a whole number written as an integer or as an integral
// float.
func parseWhole(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, ok := plainInt(s); ok {
		return n, true
	}
	if s == "" {
		// An absent attached value: spares strconv's error allocations.
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}
