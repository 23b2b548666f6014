package sapi

import "bytes"

// isClientCheck reports whether a frame is a ClientCheck heartbeat, from
// its first bytes only: the Client learns the heartbeat interval from it
// without decoding every frame (Decode still judges the frame).
func isClientCheck(frame []byte) bool {
	b := bytes.TrimLeft(frame, " \t\r\n")
	if len(b) == 0 {
		return false
	}
	if b[0] == '{' {
		return bytes.HasPrefix(bytes.TrimLeft(b[1:], " \t\r\n"), []byte(`"`+familyHeartbeat+`"`))
	}
	// XML: skip the declaration, processing instructions and comments.
	for {
		var end string
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			end = "?>"
		case bytes.HasPrefix(b, []byte("<!--")):
			end = "-->"
		}
		if end == "" {
			break
		}
		i := bytes.Index(b, []byte(end))
		if i < 0 {
			return false
		}
		b = bytes.TrimLeft(b[i+len(end):], " \t\r\n")
	}
	rest, ok := bytes.CutPrefix(b, []byte("<"+familyHeartbeat))
	return ok && len(rest) > 0 && (rest[0] == '>' || rest[0] == '/' || isSpace(rest[0]))
}
