package sapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// dedupVersion is hashed first so a future change of the rule cannot
// collide with keys already stored.
const dedupVersion = "ccbridge/sapi-dedup/v1"

// dedupKey computes Event.dedup_key; the rule is the package documentation's
// "Deduplication rule": 32 lowercase hex digits, the first 128 bits of
//
//	SHA-256( version, tenant, root key, canonical(event object without msgInfo) )
//
// where canonical(v) is:
//   - object: its members sorted by key (byte order, stable for repeated
//     keys), each as key then canonical(value); the top-level "msgInfo"
//     member is left out;
//   - array: its elements in wire order (attachedDatum order is kept);
//     a bare object sent as attachedDatum counts as a one-element array;
//   - scalar: its text, whatever its JSON type: a number as its literal
//     ("5515557212", never re-formatted), a string as its content, a
//     boolean as "true"/"false". 1000 and "1000" are the same value, so a
//     failover to an instance that types a field differently changes
//     nothing; null stays distinct from "".
//
// Every string is length-prefixed, so no two different trees encode the
// same way.
//
// The event object is the document's node eventObject. The canonical form
// is built in d's pooled buffer and hashed in one call.
func (d *document) dedupKey(tenant, root string) string {
	buf := appendText(d.canon[:0], dedupVersion)
	buf = appendText(buf, tenant)
	buf = appendText(buf, root)
	buf = d.appendCanonical(buf, eventObject, true)
	d.canon = buf
	sum := sha256.Sum256(buf)
	var key [32]byte
	hex.Encode(key[:], sum[:16])
	return string(key[:])
}

// appendCanonical appends the canonical form of node i; top says i is the
// event object itself, whose msgInfo is left out.
func (d *document) appendCanonical(buf []byte, i int, top bool) []byte {
	n := &d.nodes[i]
	switch n.kind {
	case kindObject:
		// The members are sorted on d.order, above any enclosing object's.
		base := len(d.order)
		for c := i + 1; c < n.end; c = d.nodes[c].end {
			if top && string(d.key(c)) == "msgInfo" {
				continue
			}
			d.order = append(d.order, c)
		}
		count := len(d.order) - base
		slices.SortStableFunc(d.order[base:], func(a, b int) int { return bytes.Compare(d.key(a), d.key(b)) })
		buf = append(buf, '{')
		for k := range count {
			m := d.order[base+k]
			key := d.key(m)
			buf = appendText(buf, key)
			if string(key) == "attachedDatum" && d.nodes[m].kind == kindObject {
				buf = append(buf, '[')
				buf = d.appendCanonical(buf, m, false)
				buf = append(buf, ']')
				continue
			}
			buf = d.appendCanonical(buf, m, false)
		}
		d.order = d.order[:base]
		return append(buf, '}')
	case kindArray:
		buf = append(buf, '[')
		for c := i + 1; c < n.end; c = d.nodes[c].end {
			buf = d.appendCanonical(buf, c, false)
		}
		return append(buf, ']')
	case kindNull:
		return append(buf, 'n')
	default:
		return appendText(append(buf, 's'), d.bytes(n.text))
	}
}

// appendText appends a length-prefixed string.
func appendText[T string | []byte](buf []byte, s T) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}
