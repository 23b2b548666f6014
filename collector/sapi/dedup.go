package sapi

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sync"
)

// dedupVersion is hashed first so a future change of the rule cannot
// collide with keys already stored.
const dedupVersion = "ccbridge/sapi-dedup/v1"

// canonicalBuffers recycles the scratch space of dedupKey (hot path).
var canonicalBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

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
func dedupKey(tenant, root string, body *value) string {
	bufp := canonicalBuffers.Get().(*[]byte)
	buf := appendText((*bufp)[:0], dedupVersion)
	buf = appendText(buf, tenant)
	buf = appendText(buf, root)
	buf = appendCanonical(buf, body, true)
	sum := sha256.Sum256(buf)
	*bufp = buf
	canonicalBuffers.Put(bufp)
	return hex.EncodeToString(sum[:16])
}

// appendCanonical appends the canonical form of v; top says v is the event
// object itself, whose msgInfo is left out.
func appendCanonical(buf []byte, v *value, top bool) []byte {
	switch v.kind {
	case kindObject:
		members := make([]*member, 0, len(v.members))
		for i := range v.members {
			if top && v.members[i].key == "msgInfo" {
				continue
			}
			members = append(members, &v.members[i])
		}
		slices.SortStableFunc(members, func(a, b *member) int { return cmp.Compare(a.key, b.key) })
		buf = append(buf, '{')
		for _, m := range members {
			buf = appendText(buf, m.key)
			if m.key == "attachedDatum" && m.val.kind == kindObject {
				buf = append(buf, '[')
				buf = appendCanonical(buf, &m.val, false)
				buf = append(buf, ']')
				continue
			}
			buf = appendCanonical(buf, &m.val, false)
		}
		return append(buf, '}')
	case kindArray:
		buf = append(buf, '[')
		for i := range v.items {
			buf = appendCanonical(buf, &v.items[i], false)
		}
		return append(buf, ']')
	case kindNull:
		return append(buf, 'n')
	default:
		return appendText(append(buf, 's'), v.text)
	}
}

// appendText appends a length-prefixed string.
func appendText(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}
