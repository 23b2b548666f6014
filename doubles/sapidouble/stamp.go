package sapidouble

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// errNotSAPIEvent rejects a published event that is not {"<root>":{...}}.
var errNotSAPIEvent = errors.New("sapidouble: an event must be a JSON object with one root key whose value is an object")

// prepared is a published event, compacted onto one line, with the place
// where its msgInfo goes.
type prepared struct {
	json []byte
	// aliased: json is the caller's event itself (it was compact already),
	// so it must be copied before it is kept.
	aliased bool
	// keepMsgInfo: the event carries "msgInfo":{} on purpose; leave it.
	keepMsgInfo bool
	// replaceFrom, replaceTo delimit the existing msgInfo value, or mark
	// (equal) where a "msgInfo" member is inserted.
	replaceFrom, replaceTo int
	// insert says no msgInfo exists; insertComma says which side of the
	// insertion needs the separating comma ("before", "after" or "").
	insert      bool
	insertComma string
}

// prepare compacts an event and finds where msgInfo goes. Its key order is
// kept; a missing msgInfo is inserted where alphabetical order puts it, as
// 8x8 orders keys.
func prepare(event []byte) (prepared, error) {
	// Events usually arrive compact: then json.Compact would only copy
	// them, and its scanner is the costliest part of a publish.
	b, aliased := event, true
	if !isCompactJSON(event) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, event); err != nil {
			return prepared{}, err
		}
		b, aliased = buf.Bytes(), false
	}
	if len(b) < 2 || b[0] != '{' {
		return prepared{}, errNotSAPIEvent
	}
	_, afterKey := skipValue(b, 1) // the root key
	if afterKey >= len(b) || b[afterKey] != ':' || afterKey+1 >= len(b) || b[afterKey+1] != '{' {
		return prepared{}, errNotSAPIEvent
	}
	bodyStart := afterKey + 1
	_, bodyEnd := skipValue(b, bodyStart)
	if bodyEnd != len(b)-1 {
		return prepared{}, errNotSAPIEvent
	}
	p := prepared{json: b, aliased: aliased}
	insertAt, insertBefore := -1, false
	i := bodyStart + 1
	for b[i] != '}' {
		keyStart := i
		_, keyEnd := skipValue(b, i)
		valueStart := keyEnd + 1
		_, valueEnd := skipValue(b, valueStart)
		key := string(b[keyStart+1 : keyEnd-1])
		if key == "msgInfo" {
			p.keepMsgInfo = string(b[valueStart:valueEnd]) == "{}"
			p.replaceFrom, p.replaceTo = valueStart, valueEnd
			return p, nil
		}
		if insertAt < 0 && key > "msgInfo" {
			insertAt, insertBefore = keyStart, true
		}
		i = valueEnd
		if b[i] == ',' {
			i++
		}
	}
	p.insert = true
	switch {
	case insertBefore:
		p.replaceFrom, p.replaceTo, p.insertComma = insertAt, insertAt, "after"
	case i > bodyStart+1:
		p.replaceFrom, p.replaceTo, p.insertComma = i, i, "before"
	default:
		p.replaceFrom, p.replaceTo = i, i
	}
	return p, nil
}

// kept is the event to keep as it is (its msgInfo left alone), owned by
// the double.
func (p prepared) kept() []byte {
	if p.aliased {
		return bytes.Clone(p.json)
	}
	return p.json
}

// msgInfoKey is what precedes an inserted msgInfo.
const msgInfoKey = `"msgInfo":`

// stamp returns the event with msgInfo set, in a new slice of its exact
// size.
func (p prepared) stamp(msgInfo []byte) []byte {
	if p.keepMsgInfo {
		return p.kept()
	}
	n := len(p.json) - (p.replaceTo - p.replaceFrom) + len(msgInfo)
	if p.insert {
		n += len(msgInfoKey)
		if p.insertComma != "" {
			n++
		}
	}
	out := make([]byte, 0, n)
	out = append(out, p.json[:p.replaceFrom]...)
	if p.insert {
		if p.insertComma == "before" {
			out = append(out, ',')
		}
		out = append(out, msgInfoKey...)
	}
	out = append(out, msgInfo...)
	if p.insertComma == "after" {
		out = append(out, ',')
	}
	return append(out, p.json[p.replaceTo:]...)
}

// skipValue returns the start and end (exclusive) of the compact JSON value
// at i: a string, an object, an array or a scalar.
func skipValue(b []byte, i int) (int, int) {
	start := i
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return start, i + 1
			}
		}
		return start, len(b)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				_, end := skipValue(b, i)
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return start, i + 1
				}
			}
		}
		return start, len(b)
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
			i++
		}
		return start, i
	}
}

// appendMsgInfo appends SAPI's msgInfo with an instanceId already quoted.
func appendMsgInfo(b, quotedInstanceID []byte, sequenceID int64, at time.Time) []byte {
	b = append(b, `{"instanceId":`...)
	b = append(b, quotedInstanceID...)
	b = append(b, `,"sequenceId":`...)
	b = strconv.AppendInt(b, sequenceID, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, at.UnixMilli(), 10)
	return append(b, '}')
}

// heartbeatJSON renders a ClientCheck as 8x8 sends it, hyphenated keys
// included.
func heartbeatJSON(msgInfo []byte, subscriptionID, tenant string) []byte {
	b := []byte(`{"ClientCheck":{"heartbeat":"[HEARTBEAT]","msgInfo":`)
	b = append(b, msgInfo...)
	b = append(b, `,"subscription-id":`...)
	b = appendJSONString(b, subscriptionID)
	b = append(b, `,"tenant-id":`...)
	b = appendJSONString(b, tenant)
	return append(b, "}}"...)
}

func appendJSONString(b []byte, s string) []byte {
	quoted, _ := json.Marshal(s) // a string always marshals
	return append(b, quoted...)
}
