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
// It measures the view first, so that it allocates what the view keeps
// (about a third of a stored 8x8 event), not the whole payload.
func dispatcherView(payload []byte) ([]byte, error) {
	size, drop := 0, false
	if err := eachField(payload, func(num protowire.Number, field []byte) {
		if forDispatcher(num) {
			size += len(field)
		} else {
			drop = true
		}
	}); err != nil {
		return nil, err
	}
	if !drop {
		return payload, nil
	}
	out := make([]byte, 0, size)
	_ = eachField(payload, func(num protowire.Number, field []byte) {
		if forDispatcher(num) {
			out = append(out, field...)
		}
	})
	return out, nil
}

// eachField calls f with each field of an encoded message (tag included).
func eachField(b []byte, f func(num protowire.Number, field []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformedEvent
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return errMalformedEvent
		}
		f(num, b[:n+m])
		b = b[n+m:]
	}
	return nil
}
