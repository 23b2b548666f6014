package sapi

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
)

// FuzzFramer checks that no input panics the Framer, that frames respect the
// limit, and that feeding the stream one byte at a time yields the same
// frames as feeding it whole.
func FuzzFramer(f *testing.F) {
	for _, seed := range []string{
		atmospherePadding[2040:] + eventA + "\nX\n" + prefixed(eventWide) + prefixed(eventPipes+"\n"),
		eventA + eventB + `{"a":"}\"{"}` + "}}garbage",
		"<?xml version='1.0'?><a><!-- -> --><b x='>'/><![CDATA[]]>]]></a>X<c/>",
		"12|{\"a\":\"|\"}99999999999|x\n",
		"\x00\xff\n{\n",
	} {
		for format := FormatNewlineJSON; format <= FormatNewlineXML; format++ {
			f.Add([]byte(seed), uint8(format), uint16(64))
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, format uint8, limit uint16) {
		framing := Format(format%4) + 1
		whole := frameAll(t, strings.NewReader(string(stream)), framing, int(limit))
		bytewise := frameAll(t, iotest.OneByteReader(strings.NewReader(string(stream))), framing, int(limit))
		if !equalFrames(whole, bytewise) {
			t.Fatalf("frames depend on read sizes:\n whole    %q\n bytewise %q", whole, bytewise)
		}
	})
}

// frameAll frames a stream, recording rejections as "<rejected>".
func frameAll(t *testing.T, r io.Reader, format Format, limit int) []string {
	framer := NewFramer(r, format, limit)
	max := framer.max
	var frames []string
	for {
		b, err := framer.Next()
		var fe *FrameError
		switch {
		case err == nil:
			if len(b) > max {
				t.Fatalf("frame of %d bytes exceeds the limit %d", len(b), max)
			}
			frames = append(frames, string(b))
		case errors.As(err, &fe):
			frames = append(frames, "<rejected>")
		case errors.Is(err, io.EOF):
			return frames
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
}

// FuzzDecode checks that no frame panics Decode, that only valid UTF-8
// frames decode, that every decoded event can be marshalled (valid UTF-8
// everywhere), and that the JSON parser
// accepts exactly what encoding/json accepts.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		deassigned, eventA, eventB, eventPipes, eventWide,
		`{"ClientCheck":{"heartbeat":"[HEARTBEAT]"}}`,
		`{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":{"attachedDataKey":"k","attachedDataValue":1e400}}}}`,
		"{\"Interaction\":{\"interactionGUID\":\"\\ud83d\\ude00\\ud800\xff\"}}",
		`<Interaction><interactionGUID>i</interactionGUID><a><b>1</b><b>2</b></a></Interaction>`,
		`{"a":-0.5e-3,"b":[true,false,null]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		ev, err := Decode(frame, "tenant", "subs", time.Unix(1, 0))
		if err == nil && !utf8.Valid(frame) {
			t.Fatalf("a frame that is not valid UTF-8 decoded as an event")
		}
		if err == nil {
			if _, err := proto.Marshal(ev); err != nil {
				t.Fatalf("decoded event does not marshal: %v", err)
			}
		}
		if err := parseJSON(frame); (err == nil) != json.Valid(frame) && !tooDeep(frame) {
			t.Fatalf("parseJSON error %v, but json.Valid = %v", err, json.Valid(frame))
		}
	})
}

// parseJSON parses a frame as Decode does, into a pooled document.
func parseJSON(frame []byte) error {
	d := getDocument()
	defer d.release()
	return d.parseJSON(frame)
}

// tooDeep reports whether a document nests beyond maxNesting, which the
// parser rejects on purpose.
func tooDeep(b []byte) bool {
	depth := 0
	for _, c := range b {
		switch c {
		case '{', '[':
			depth++
			if depth > maxNesting {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
