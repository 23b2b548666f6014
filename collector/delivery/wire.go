package delivery

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// eventRawField is ccbridge.event.v1.Event.raw's field number.
const eventRawField protowire.Number = 12

// errMalformedEvent means stored event bytes are not protobuf.
var errMalformedEvent = errors.New("delivery: stored event is not valid protobuf")

// withoutRaw returns an encoded Event without its raw field: dispatchers do
// not read the frame, and it is most of the event's bytes. The result
// shares no memory with payload when raw was present, and is payload
// itself otherwise.
func withoutRaw(payload []byte) ([]byte, error) {
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
		if num == eventRawField {
			if out == nil {
				// Copy what came before raw, once.
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
