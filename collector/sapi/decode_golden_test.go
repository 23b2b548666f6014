package sapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// goldenFile holds, for every frame of goldenCorpus, what Decode returns:
// the event (raw left out: it must equal the frame) or the error text.
const goldenFile = "testdata/decode.golden.jsonl"

var updateGolden = flag.Bool("update", false, "rewrite "+goldenFile+" from the current Decode")

// goldenReceived has nanoseconds so that every timestamp rule shows.
var goldenReceived = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)

// goldenResult is one line of goldenFile.
type goldenResult struct {
	Name  string          `json:"name"`
	Error string          `json:"error,omitempty"`
	Event json.RawMessage `json:"event,omitempty"`
}

type goldenFrame struct {
	name  string
	frame []byte
}

// TestDecode_matches_golden pins Decode, field by field and error by error,
// on a broad corpus: a change to the parser or to a field rule that alters
// any event, dedup key or error message fails here. Run with -update to
// accept an intended change.
func TestDecode_matches_golden(t *testing.T) {
	corpus := goldenCorpus(t)
	if *updateGolden {
		writeGolden(t, corpus, Decode)
		return
	}
	want := readGolden(t)
	if len(want) != len(corpus) {
		t.Fatalf("%s has %d results for %d frames: run the test with -update", goldenFile, len(want), len(corpus))
	}
	for i, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			w := want[i]
			if w.Name != c.name {
				t.Fatalf("%s line %d is %q: run the test with -update", goldenFile, i+1, w.Name)
			}
			got, err := Decode(c.frame, "acmecorp01", "subs-1", goldenReceived)
			if w.Error != "" {
				if err == nil || err.Error() != w.Error {
					t.Fatalf("Decode error = %v, want %q", err, w.Error)
				}
				var de *DecodeError
				if !errors.Is(err, ErrHeartbeat) && !errors.As(err, &de) {
					t.Fatalf("Decode error %T is neither ErrHeartbeat nor a *DecodeError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(got.Raw, c.frame) {
				t.Errorf("raw = %q, want the frame", got.Raw)
			}
			wantEvent := new(eventv1.Event)
			if err := protojson.Unmarshal(w.Event, wantEvent); err != nil {
				t.Fatalf("%s: %v", goldenFile, err)
			}
			wantEvent.Raw = c.frame
			assertEvent(t, got, wantEvent)
		})
	}
}

type decodeFunc func(frame []byte, tenant, subscriptionID string, receivedAt time.Time) (*eventv1.Event, error)

func writeGolden(t *testing.T, corpus []goldenFrame, decode decodeFunc) {
	t.Helper()
	var out bytes.Buffer
	for _, c := range corpus {
		r := goldenResult{Name: c.name}
		ev, err := decode(c.frame, "acmecorp01", "subs-1", goldenReceived)
		if err != nil {
			r.Error = err.Error()
		} else {
			ev = proto.Clone(ev).(*eventv1.Event)
			ev.Raw = nil
			b, err := protojson.Marshal(ev)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, b); err != nil {
				t.Fatal(err)
			}
			r.Event = compact.Bytes()
		}
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(append(line, '\n'))
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGolden(t *testing.T) []goldenResult {
	t.Helper()
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var results []goldenResult
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var r goldenResult
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d: %v", goldenFile, len(results)+1, err)
		}
		results = append(results, r)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return results
}

// sampleNames are the documented samples, line by line.
var sampleNames = []string{
	"A_heartbeat", "B_agent_status_change", "C_agent_prov_change", "D_interaction_created",
	"E_interaction_queued", "F_interaction_deleted", "G_interaction_assigned",
	"H_interaction_rejected", "I_line_hold_status", "J_recording_status",
}

// goldenCorpus is every documented sample as sent (compact JSON), indented
// and as XML; the frames of the other tests; frames that exercise each field
// rule and each parse error; and truncated and corrupted forms of sample E.
func goldenCorpus(t *testing.T) []goldenFrame {
	t.Helper()
	var corpus []goldenFrame
	add := func(name string, frame []byte) { corpus = append(corpus, goldenFrame{name, frame}) }
	samples := readSamples(t)
	for i, line := range samples {
		add("json/"+sampleNames[i], line)
		var indented bytes.Buffer
		if err := json.Indent(&indented, line, "", "  "); err != nil {
			t.Fatal(err)
		}
		add("indented/"+sampleNames[i], indented.Bytes())
		add("xml/"+sampleNames[i], jsonToXML(t, line))
	}
	for _, c := range []struct{ name, frame string }{
		{"deassigned", deassigned}, {"eventA", eventA}, {"eventB", eventB},
		{"eventPipes", eventPipes}, {"eventWide", eventWide},
	} {
		add("test/"+c.name, []byte(c.frame))
	}
	for _, c := range goldenEdgeCases {
		add("edge/"+c.name, []byte(c.frame))
	}
	for _, c := range goldenMalformed {
		add("malformed/"+c.name, []byte(c.frame))
	}
	e := samples[4]
	for at := 0; at < len(e); at += 61 {
		add(fmt.Sprintf("truncated/E_json_at_%d", at), e[:at])
	}
	xmlE := jsonToXML(t, e)
	for at := 0; at < len(xmlE); at += 211 {
		add(fmt.Sprintf("truncated/E_xml_at_%d", at), xmlE[:at])
	}
	for at := 0; at < len(e); at += 89 {
		for _, b := range []byte{'}', '"', '\\', 0, 0xff} {
			c := bytes.Clone(e)
			c[at] = b
			add(fmt.Sprintf("corrupted/E_at_%d_%02x", at, b), c)
		}
	}
	return corpus
}

var goldenEdgeCases = []struct{ name, frame string }{
	{"escapes_in_keys_and_values", `{"Interaction":{"interaction\u0047UID":"int-\"q\"\n\t\/","agentId":"\u00e9\ud83d\ude00\ud800x\uDC00","callState":"\u0043S_QUEUED"}}`},
	{"invalid_utf8_raw", "{\"Interaction\":{\"interactionGUID\":\"int-\xff\xfe\",\"callState\":\"a\xc3\",\"k\xe2\x82\":1}}"},
	{"invalid_utf8_in_composite_text", "{\"Interaction\":{\"interactionGUID\":{\"\xff\":1},\"agentId\":[\"\\u00e9\xc3\"],\"attachedData\":{\"attachedDatum\":{\"attachedDataKey\":{\"\xe2\x82\":[]},\"attachedDataValue\":[\"\x87\"]}}}}"},
	{"invalid_utf8_with_escape", "{\"Interaction\":{\"interactionGUID\":\"\\u0041\xff\\n\xc3\"}}"},
	{"numbers_in_every_form", `{"Interaction":{"interactionGUID":"i","queueId":"5.91e2","resourceType":-0,"transactionNum":" 19727 ","queueTime":1669235836.25,"outboundCampaignid":"0x10","eventTS":"1e3","msgInfo":{"sequenceId":"9223372036854775807","timestamp":"1669235836708"}}}`},
	{"numbers_out_of_range", `{"Interaction":{"interactionGUID":"i","resourceType":9223372036854775808,"queueId":-9223372036854775808,"transactionNum":1e19,"interactionEventTS":-5,"eventTS":253402300800,"statusEventTS":253402300799,"msgInfo":{"sequenceId":1.5,"timestamp":1e400}}}`},
	{"numbers_with_signs_and_zeros", `{"Interaction":{"interactionGUID":"i","resourceType":"+7","queueId":"007","transactionNum":"-0","queueTime":"+1669235836","interactionEventTS":"0001669235836","msgInfo":{"sequenceId":"-12","timestamp":"  1669235836708"}}}`},
	{"repeated_keys_last_wins", `{"Interaction":{"interactionGUID":"a","interactionGUID":"b","msgInfo":{"sequenceId":1},"msgInfo":{"sequenceId":2},"attachedData":{"attachedDatum":[{"attachedDataKey":"k","attachedDataValue":1,"attachedDataValue":2},{"attachedDataKey":"k","attachedDataValue":3}]},"attachedData":{"attachedDatum":{"attachedDataKey":"only","attachedDataValue":"this"}}}}`},
	{"composite_values_as_text", `{"Interaction":{"interactionGUID":{"id": [1, 2]},"agentId":[ "x" ],"dispositionCode":{},"callState":[],"attachedData":{"attachedDatum":[{"attachedDataKey":"obj","attachedDataValue":{"a" : 1}},{"attachedDataKey":["k"],"attachedDataValue":null},{"attachedDataKey":"","attachedDataValue":"dropped"},{"attachedDataValue":"no key"},"not an object",{"attachedDataKey":true,"attachedDataValue":false}]}}}`},
	{"participating_agents_array", `{"Interaction":{"interactionGUID":"i","participatingAgents":["a;b",["c, d"],7,{"x":1}," ",null]}}`},
	{"participating_agents_separators_only", `{"Interaction":{"interactionGUID":"i","participatingAgents":" ;,; "}}`},
	{"queue_list_single_item_array", `{"Interaction":{"interactionGUID":"i","queueList":[" 7 "]}}`},
	{"queue_list_two_items", `{"Interaction":{"interactionGUID":"i","queueList":[1,2]}}`},
	{"queue_list_nested_array", `{"Interaction":{"interactionGUID":"i","queueList":[[3]]}}`},
	{"attached_datum_as_string", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":"x"}}}`},
	{"attached_datum_empty_array", `{"Interaction":{"interactionGUID":"i","attachedData":{"attachedDatum":[]}}}`},
	{"attached_data_fallbacks", `{"Interaction":{"interactionGUID":"i","outboundCampaignid":"0","attachedData":{"attachedDatum":[{"attachedDataKey":"tok","attachedDataValue":"1.5e3"},{"attachedDataKey":"campId","attachedDataValue":" 61 "},{"attachedDataKey":"queueDirection","attachedDataValue":"out"},{"attachedDataKey":"pho","attachedDataValue":5515557212},{"attachedDataKey":"campName","attachedDataValue":"Spring"},{"attachedDataKey":"originalInteractionGuid","attachedDataValue":"int-0"},{"attachedDataKey":"unknownKey","attachedDataValue":"unknown value"}]}}}`},
	{"attached_data_on_agent_event", `{"AgentStatusChange":{"agentId":"a","attachedData":{"attachedDatum":[{"attachedDataKey":"k","attachedDataValue":"v"}]}}}`},
	{"msginfo_only_left_out_at_top", `{"Interaction":{"interactionGUID":"i","nested":{"msgInfo":{"a":1},"b":[{"attachedDatum":{"c":2}}]},"attachedDatum":{"d":null},"msgInfo":{"instanceId":"x"}}}`},
	{"unsorted_keys_with_common_prefixes", `{"Interaction":{"interactionGUID":"i","b":1,"a":2,"ab":3,"a":4,"":5,"aa":{"z":1,"y":[{"q":1,"p":2}]}}}`},
	{"null_fields", `{"Interaction":{"interactionGUID":"i","event":null,"agentId":null,"direction":null,"msgInfo":null,"attachedData":null}}`},
	{"boolean_fields", `{"Interaction":{"interactionGUID":true,"event":false,"queueId":true,"eventTS":true}}`},
	{"msginfo_not_an_object", `{"AgentStatusChange":{"agentId":"a","msgInfo":[1,2]}}`},
	{"unknown_root_empty_body", `{"Unknown":{}}`},
	{"heartbeat_empty_body", `{"ClientCheck":{}}`},
	{"whitespace_everywhere", " \t\r\n{ \"AgentStatusChange\" : { \"agentId\" : \"a\" , \"statusEventTS\" : 5 , \"x\" : [ 1 , { } , [ ] ] } } \n"},
	{"inbound_channel_na_variants", `{"Interaction":{"interactionGUID":"i","inboundChannelid":" n/a "}}`},
	{"agent_order_key", `{"AgentProvChange":{"agentId":"ag1","msgInfo":{"timestamp":1}}}`},
	{"family_order_key", `{"GuestChatEnd":{"chatId":"c1"}}`},
	{"escaped_root_key", `{"Interaction\u0021":{"agentId":"a"}}`},
	{"xml_misc", "<?xml version='1.0'?><!-- c --><Interaction><interactionGUID> &amp;i&#x41; </interactionGUID><![CDATA[x]]><a><b>1</b><b>2</b><b>3</b></a><c><d>x</d></c><c>y</c><e/><f x='1'>z</f></Interaction><!-- end -->\n"},
	{"xml_empty_root", `<AgentStatusChange/>`},
	{"xml_heartbeat", `<ClientCheck><heartbeat>[HEARTBEAT]</heartbeat></ClientCheck>`},
	{"xml_attached_datum_single", `<Interaction><interactionGUID>i</interactionGUID><attachedData><attachedDatum><attachedDataKey>phoneNum</attachedDataKey><attachedDataValue>5515557212</attachedDataValue></attachedDatum></attachedData><msgInfo><sequenceId>4</sequenceId></msgInfo></Interaction>`},
}

var goldenMalformed = []struct{ name, frame string }{
	{"empty", ""},
	{"spaces", " \n "},
	{"string", `"x"`},
	{"number", `12`},
	{"array", `[{"Interaction":{}}]`},
	{"no_root_key", `{}`},
	{"two_root_keys", `{"Interaction":{},"AgentStatusChange":{}}`},
	{"root_value_string", `{"Interaction":"x"}`},
	{"root_value_null", `{"Interaction":null}`},
	{"interaction_without_guid", `{"Interaction":{"event":"x"}}`},
	{"interaction_guid_empty", `{"Interaction":{"interactionGUID":""}}`},
	{"interaction_guid_null", `{"Interaction":{"interactionGUID":null}}`},
	{"trailing_data", `{"a":{}} x`},
	{"bad_literal", `{"a":{"b":tru}}`},
	{"bad_literal_at_end", `{"a":{"b":nul`},
	{"minus_alone", `{"a":{"b":-}}`},
	{"fraction_without_digits", `{"a":{"b":1.}}`},
	{"exponent_without_digits", `{"a":{"b":1e+}}`},
	{"leading_zero", `{"a":{"b":01}}`},
	{"control_character", "{\"a\":{\"b\":\"x\ty\"}}"},
	{"control_character_after_escape", "{\"a\":{\"b\":\"\\n\x01\"}}"},
	{"bad_escape", `{"a":{"b":"\x"}}`},
	{"bad_unicode_escape", `{"a":{"b":"\u12G4"}}`},
	{"short_unicode_escape", `{"a":{"b":"\u12`},
	{"unterminated_string", `{"a":{"b":"x`},
	{"unterminated_after_backslash", `{"a":{"b":"x\`},
	{"missing_colon", `{"a" {}}`},
	{"unquoted_key", `{a:{}}`},
	{"single_quotes", `{"a":{"b":'x'}}`},
	{"trailing_comma_object", `{"a":{"b":1,}}`},
	{"trailing_comma_array", `{"a":{"b":[1,]}}`},
	{"missing_comma_array", `{"a":{"b":[1 2]}}`},
	{"unterminated_object", `{"a":{"b":1`},
	{"unterminated_array", `{"a":{"b":[1`},
	{"deep_arrays", `{"a":` + deepArray(100) + `}`},
	{"deep_objects", strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)},
	{"just_deep_enough", strings.Repeat(`{"a":`, 63) + "{}" + strings.Repeat("}", 63)},
	{"binary", "\x00\x01\xfe\xff"},
	{"atmosphere_handshake", "0b1c6f8e-4b1e|60000|X|"},
	{"xml_broken", `<Interaction><event>x</Interaction>`},
	{"xml_root_with_text", `<Interaction>text</Interaction>`},
	{"xml_two_roots", `<A><b>1</b></A><C/>`},
	{"xml_text_after_root", `<A><b>1</b></A>x`},
	{"xml_declaration_only", `<?xml version='1.0'?>`},
	{"xml_invalid_utf8", "<A><b>\xff</b></A>"},
	{"xml_deep", strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70)},
	{"xml_unterminated", `<Interaction><interactionGUID>i`},
}

// jsonToXML renders a JSON event as SAPI's XML output: the root key as the
// root element, members as child elements, an array as repeated elements.
func jsonToXML(t *testing.T, frame []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.UseNumber()
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'  encoding='UTF-8' ?>\n")
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v", err)
	}
	root, err := dec.Token()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeXMLElement(&b, dec, root.(string)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeXMLElement(b *bytes.Buffer, dec *json.Decoder, name string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			for dec.More() {
				if err := writeXMLElement(b, dec, name); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			return err
		}
		fmt.Fprintf(b, "<%s>", name)
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return err
			}
			if err := writeXMLElement(b, dec, key.(string)); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		fmt.Fprintf(b, "</%s>\n", name)
	case nil:
		fmt.Fprintf(b, "<%s/>", name)
	default:
		fmt.Fprintf(b, "<%s>", name)
		if err := xml.EscapeText(b, fmt.Append(nil, v)); err != nil {
			return err
		}
		fmt.Fprintf(b, "</%s>", name)
	}
	return nil
}
