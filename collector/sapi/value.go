package sapi

import (
	"math"
	"strconv"
	"strings"
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

// value is a parsed SAPI payload node. It keeps what decoding and the dedup
// key need and nothing more: scalars as their literal text (so a phone number
// sent as a JSON number stays "5515557212"), object members in wire order,
// and the wire bytes of composite JSON values.
type value struct {
	kind    valueKind
	text    string   // string content, number literal, "true" or "false"
	raw     []byte   // wire bytes of a JSON object or array
	members []member // object members in wire order
	items   []value  // array elements in wire order
}

// member is one key of an object.
type member struct {
	key string
	val value
}

// get returns the value of key in an object (the last one if the key
// repeats, as encoding/json does), or nil.
func (v *value) get(key string) *value {
	if v == nil || v.kind != kindObject {
		return nil
	}
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].key == key {
			return &v.members[i].val
		}
	}
	return nil
}

// textOf returns a value in textual form: strings as their content, numbers
// as their literal, booleans as "true"/"false", null and absence as "", and
// composite values as their wire bytes.
func textOf(v *value) string {
	if v == nil {
		return ""
	}
	switch v.kind {
	case kindObject, kindArray:
		return string(v.raw)
	default:
		return v.text
	}
}

// intOf reads a whole number sent as a JSON number or as a string, in plain
// or exponent notation ("591", 591, 5.91e2).
func intOf(v *value) (int64, bool) {
	if v == nil || (v.kind != kindNumber && v.kind != kindString) {
		return 0, false
	}
	return parseWhole(v.text)
}

// parseWhole parses a whole number written as an integer or as an integral
// float.
func parseWhole(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// floatOf reads a number sent as a JSON number or as a string.
func floatOf(v *value) (float64, bool) {
	if v == nil || (v.kind != kindNumber && v.kind != kindString) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.text), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
