package sapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"
)

const (
	eventA = `{"Interaction":{"event":"InteractionCreated","interactionGUID":"int-1"}}`
	eventB = `{"AgentStatusChange":{"agentId":"ag1","newState":5}}`
	// eventPipes carries '|' in a value, as tclSelectedItems does.
	eventPipes = `{"Interaction":{"attachedData":{"attachedDatum":[{"attachedDataKey":"tclSelectedItems","attachedDataValue":"5|12,6|45"}]},"interactionGUID":"int-2"}}`
	// eventWide has a two-byte, a three-byte and a four-byte (surrogate pair
	// in UTF-16) character.
	eventWide = `{"Interaction":{"callingName":"Zoë 名前 😀","interactionGUID":"int-3"}}`
)

// atmospherePadding is what Atmosphere writes before the first message.
var atmospherePadding = strings.Repeat(" ", 2048) + "\n"

// prefixed writes an Atmosphere TrackMessageSize message: its length in
// UTF-16 code units, "|", the message.
func prefixed(msg string) string {
	return fmt.Sprintf("%d|%s", len(utf16.Encode([]rune(msg))), msg)
}

// readAll runs a Framer to the end of the stream and returns the frames and
// the rejected-frame errors, failing on any other error.
func readAll(t *testing.T, r io.Reader, format Format, maxBytes int) ([]string, []*FrameError) {
	t.Helper()
	f := NewFramer(r, format, maxBytes)
	var frames []string
	var rejected []*FrameError
	for range 10000 {
		b, err := f.Next()
		var fe *FrameError
		switch {
		case err == nil:
			frames = append(frames, string(b))
		case errors.As(err, &fe):
			rejected = append(rejected, fe)
		case errors.Is(err, io.EOF):
			return frames, rejected
		default:
			t.Fatalf("Next: unexpected error %v", err)
		}
	}
	t.Fatal("framer did not reach the end of the stream")
	return nil, nil
}

func TestFramer_streams(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		stream string
		want   []string
	}{
		{"newline_json_lines", FormatNewlineJSON, eventA + "\n" + eventB + "\n", []string{eventA, eventB}},
		{"newline_json_crlf_and_no_final_newline", FormatNewlineJSON, eventA + "\r\n" + eventB, []string{eventA, eventB}},
		{"newline_json_atmosphere_padding", FormatNewlineJSON, atmospherePadding + eventA + "\n", []string{eventA}},
		{"newline_json_x_heartbeats", FormatNewlineJSON, "X\n" + eventA + "\nXX\n \n" + "X" + eventB + "\n", []string{eventA, eventB}},
		{"newline_json_whitespace_heartbeats", FormatNewlineJSON, " \n\t\n" + eventA + "\n   \n", []string{eventA}},
		{"newline_json_length_prefixes", FormatNewlineJSON, prefixed(eventA) + "\n" + prefixed(eventPipes) + "\n", []string{eventA, eventPipes}},
		{"newline_json_prefix_counting_the_newline", FormatNewlineJSON, prefixed(eventPipes+"\n") + prefixed(eventB+"\n"), []string{eventPipes, eventB}},
		{"newline_json_prefixed_heartbeat", FormatNewlineJSON, prefixed("X") + prefixed(eventA) + "\n", []string{eventA}},
		{"newline_json_prefix_utf16_units", FormatNewlineJSON, prefixed(eventWide) + prefixed(eventA) + "\n", []string{eventWide, eventA}},
		{"newline_json_pipes_without_prefix", FormatNewlineJSON, eventPipes + "\n", []string{eventPipes}},
		{"json_concatenated", FormatJSON, eventA + eventB + eventPipes, []string{eventA, eventB, eventPipes}},
		{"json_padding_and_heartbeats", FormatJSON, atmospherePadding + eventA + "X" + eventB + " X ", []string{eventA, eventB}},
		{"json_braces_and_quotes_inside_strings", FormatJSON, `{"a":"}{\"}\\"}` + eventA, []string{`{"a":"}{\"}\\"}`, eventA}},
		{"json_length_prefixes_utf16_units", FormatJSON, prefixed(eventWide) + prefixed(eventPipes) + prefixed("X") + prefixed(eventA), []string{eventWide, eventPipes, eventA}},
		{"json_truncated_object_ends_at_newline", FormatJSON, `{"Interaction":{"event":` + "\n" + eventA, []string{`{"Interaction":{"event":`, eventA}},
		{"json_garbage_before_object", FormatJSON, "}}garbage" + eventA, []string{"}}garbage", eventA}},
		{"newline_json_garbage_lines", FormatNewlineJSON, "\x00\x01\xfe\xff binary\n" + `{"Interaction":{"ev` + "\n" + eventA + "\n", []string{"\x00\x01\xfe\xff binary", `{"Interaction":{"ev`, eventA}},
		{"newline_json_digits_without_bar_are_a_line", FormatNewlineJSON, "12345 not a prefix\n" + eventA + "\n", []string{"12345 not a prefix", eventA}},
		{"newline_json_truncated_last_line", FormatNewlineJSON, eventA + "\n" + `{"Interaction":`, []string{eventA, `{"Interaction":`}},
		{"empty_stream", FormatNewlineJSON, "", nil},
		{"only_heartbeats", FormatJSON, atmospherePadding + "X\nX X\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rejected := readAll(t, strings.NewReader(tt.stream), tt.format, 0)
			if len(rejected) > 0 {
				t.Fatalf("unexpected rejections: %v", rejected)
			}
			assertFrames(t, got, tt.want)
		})
	}
}

func TestFramer_xml(t *testing.T) {
	const decl = "<?xml version='1.0'  encoding='UTF-8' ?>"
	const agent = "<AgentStatusChange>\n    <agentId>marcus</agentId>\n    <newState>2</newState>\n    <statusEventTS>1381563857</statusEventTS>\n</AgentStatusChange>"
	tests := []struct {
		name   string
		format Format
		stream string
		want   []string
	}{
		{"declaration_kept_with_its_element", FormatXML, decl + "\n" + agent + decl + "\n" + agent, []string{decl + "\n" + agent, decl + "\n" + agent}},
		{"newline_xml_with_padding_and_heartbeats", FormatNewlineXML, atmospherePadding + agent + "\nX\n" + agent + "\n", []string{agent, agent}},
		{"nested_same_name_elements", FormatXML, "<a><a><a/></a></a><b/>", []string{"<a><a><a/></a></a>", "<b/>"}},
		{"comment_cdata_and_quoted_gt", FormatXML, `<a x="1>2" y='/>'><!-- </a> --><![CDATA[</a>]]></a>` + "<b></b>", []string{`<a x="1>2" y='/>'><!-- </a> --><![CDATA[</a>]]></a>`, "<b></b>"}},
		{"comment_ending_with_extra_dash", FormatXML, "<a><!-- x ---></a><b/>", []string{"<a><!-- x ---></a>", "<b/>"}},
		{"length_prefixed_xml", FormatNewlineXML, prefixed(agent+"\n") + prefixed("X"), []string{agent}},
		{"garbage_before_element", FormatXML, "junk<b/>", []string{"junk", "<b/>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rejected := readAll(t, strings.NewReader(tt.stream), tt.format, 0)
			if len(rejected) > 0 {
				t.Fatalf("unexpected rejections: %v", rejected)
			}
			assertFrames(t, got, tt.want)
		})
	}
}

// TestFramer_chunk_boundaries_are_not_event_boundaries splits a stream that
// uses every framing feature at every byte offset, and feeds it one byte at a
// time: the frames must not change.
func TestFramer_chunk_boundaries_are_not_event_boundaries(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		stream string
	}{
		{"newline_json", FormatNewlineJSON, atmospherePadding[2000:] + eventA + "\nX\n" + prefixed(eventWide) + prefixed(eventPipes+"\n") + "\x00garbage\n" + eventB + "\n"},
		{"json", FormatJSON, "  " + eventA + "X" + prefixed(eventWide) + eventPipes + `{"a":"}\"{"}` + prefixed(eventB)},
		{"xml", FormatXML, "<?xml version='1.0'?><a><!-- x ---><b x='>'/><![CDATA[]]>]]></a>X<c>Zoë 😀</c>\n<d/>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, _ := readAll(t, strings.NewReader(tt.stream), tt.format, 0)
			if len(want) < 3 {
				t.Fatalf("stream yields %d frames, the test needs several: %q", len(want), want)
			}
			for cut := 1; cut < len(tt.stream); cut++ {
				r := io.MultiReader(strings.NewReader(tt.stream[:cut]), strings.NewReader(tt.stream[cut:]))
				got, _ := readAll(t, r, tt.format, 0)
				if !equalFrames(got, want) {
					t.Fatalf("split at byte %d: frames %q, want %q", cut, got, want)
				}
			}
			got, _ := readAll(t, iotest.OneByteReader(strings.NewReader(tt.stream)), tt.format, 0)
			assertFrames(t, got, want)
		})
	}
}

func TestFramer_oversized_frames_are_rejected_and_skipped(t *testing.T) {
	const limit = 256
	big := `{"Interaction":{"pad":"` + strings.Repeat("x", 10_000) + `"}}`
	tests := []struct {
		name   string
		format Format
		stream string
	}{
		{"newline_json_line", FormatNewlineJSON, big + "\n" + eventA + "\n"},
		{"json_object", FormatJSON, big + eventA},
		{"length_prefixed", FormatNewlineJSON, prefixed(big) + prefixed(eventA)},
		{"xml_element", FormatXML, "<a>" + strings.Repeat("<b>x</b>", 2000) + "</a>" + "<c/>"},
		{"garbage", FormatJSON, strings.Repeat("g", 10_000) + eventA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, rejected := readAll(t, strings.NewReader(tt.stream), tt.format, limit)
			if len(rejected) != 1 {
				t.Fatalf("rejected %d frames, want 1 (frames: %q)", len(rejected), frames)
			}
			fe := rejected[0]
			if fe.Size <= limit || len(fe.Prefix) == 0 || len(fe.Prefix) > limit || fe.Reason == "" {
				t.Errorf("FrameError{Reason: %q, Size: %d, len(Prefix): %d}: want a reason, size > %d, a prefix of at most %d bytes",
					fe.Reason, fe.Size, len(fe.Prefix), limit, limit)
			}
			if len(frames) != 1 || len(frames[0]) > limit {
				t.Errorf("frames after the rejected one: %q, want exactly the next event", frames)
			}
		})
	}
}

// endlessFrame produces one huge JSON line without ever materializing it.
type endlessFrame struct{ remaining int }

func (e *endlessFrame) Read(p []byte) (int, error) {
	if e.remaining == 0 {
		return 0, io.EOF
	}
	n := min(len(p), e.remaining)
	for i := range n {
		p[i] = 'x'
	}
	e.remaining -= n
	return n, nil
}

func TestFramer_oversized_frame_uses_bounded_memory(t *testing.T) {
	const limit = 4 << 10
	const huge = 64 << 20
	for _, format := range []Format{FormatNewlineJSON, FormatJSON} {
		t.Run(format.String(), func(t *testing.T) {
			stream := io.MultiReader(strings.NewReader("{"), &endlessFrame{remaining: huge}, strings.NewReader("\n"+eventA+"\n"))
			f := NewFramer(stream, format, limit)
			_, err := f.Next()
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Size != huge+1 {
				t.Fatalf("first Next: %v, want a FrameError of %d bytes", err, huge+1)
			}
			if cap(f.frame) > 2*limit || len(f.buf) > readBufferSize {
				t.Errorf("framer holds %d+%d bytes for a %d-byte frame, want about %d", cap(f.frame), len(f.buf), huge, limit)
			}
			b, err := f.Next()
			if err != nil || string(b) != eventA {
				t.Errorf("next frame: %q, %v; want %q", b, err, eventA)
			}
		})
	}
}

func TestFramer_read_errors(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"error_mid_frame_drops_the_partial_frame", io.MultiReader(strings.NewReader(`{"Interaction":`), iotest.ErrReader(boom)), boom},
		{"error_between_frames", iotest.ErrReader(boom), boom},
		{"reader_that_never_progresses", zeroReader{}, io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFramer(tt.r, FormatJSON, 0)
			if b, err := f.Next(); !errors.Is(err, tt.want) {
				t.Fatalf("Next = %q, %v; want error %v", b, err, tt.want)
			}
		})
	}
}

// zeroReader returns (0, nil) forever, which io.Reader discourages.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestFramer_frame_is_reused_between_calls(t *testing.T) {
	f := NewFramer(strings.NewReader(eventA+"\n"+eventB+"\n"), FormatNewlineJSON, 0)
	first, _ := f.Next()
	kept := bytes.Clone(first)
	if _, err := f.Next(); err != nil {
		t.Fatal(err)
	}
	if string(kept) != eventA {
		t.Fatalf("copied frame = %q, want %q", kept, eventA)
	}
}

func assertFrames(t *testing.T, got, want []string) {
	t.Helper()
	if !equalFrames(got, want) {
		t.Fatalf("frames:\n got  %q\n want %q", got, want)
	}
}

func equalFrames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stallReader stands for a live stream with nothing more to say yet.
type stallReader struct{ t *testing.T }

func (s stallReader) Read([]byte) (int, error) {
	s.t.Error("the framer read past a complete frame; on a live stream it would wait for the next event")
	return 0, io.EOF
}

func TestFramer_returns_a_frame_without_reading_past_it(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		stream string
	}{
		{"newline_json", FormatNewlineJSON, eventA + "\n"},
		{"json", FormatJSON, eventA},
		{"json_length_prefixed_ending_in_wide_character", FormatJSON, prefixed(`{"a":"😀"}`) + prefixed(`é`)},
		{"newline_json_length_prefixed", FormatNewlineJSON, prefixed(eventWide)},
		{"xml", FormatXML, "<a><b>é</b></a>"},
		{"short_length_prefixed_message", FormatJSON, prefixed(`{}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFramer(io.MultiReader(strings.NewReader(tt.stream), stallReader{t}), tt.format, 0)
			if _, err := f.Next(); err != nil {
				t.Fatalf("Next: %v", err)
			}
		})
	}
}
