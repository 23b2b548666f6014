package delivery

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// Fields of ccbridge.event.v1.Event that dispatchers do not read: raw (the
// frame, most of an event's bytes) and attached_data (a map of about
// twenty entries, most of a delivery's decoding cost). Both stay in the
// collector's store and timeline.
const (
	eventAttachedDataField protowire.Number = 11
	eventRawField          protowire.Number = 12
)

// forDispatcher reports whether a dispatcher receives an Event field.
func forDispatcher(num protowire.Number) bool {
	return num != eventRawField && num != eventAttachedDataField
}

// errMalformedEvent means stored event bytes are not protobuf.
var errMalformedEvent = errors.New("delivery: stored event is not valid protobuf")

// dispatcherView returns an encoded Event without the fields dispatchers do
// not read (raw and attached_data). The result shares no memory with
// payload when such a field was present, and is payload itself otherwise.
func dispatcherView(payload []byte) ([]byte, error) {
	var out []byte
	rest := payload
	for len(rest) > 0 {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, errMalformedEvent
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, errMalformedEvent
		}
		field := rest[:n+m]
		rest = rest[n+m:]
		if !forDispatcher(num) {
			if out == nil {
				// Copy what came before the first dropped field, once.
				out = make([]byte, 0, len(payload))
				out = append(out, payload[:len(payload)-len(rest)-len(field)]...)
			}
			continue
		}
		if out != nil {
			out = append(out, field...)
		}
	}
	if out == nil {
		return payload, nil
	}
	return out, nil
}
