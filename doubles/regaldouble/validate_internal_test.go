package regaldouble

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ccbridge/bridge/doubles/internal/jsonsyntax"
)

// refCheck and refDecodeEvent are the straightforward validation that
// decodeEvent must match exactly: a generic decode, a schema walk that
// builds the path as it goes and sorts keys on every call, then a decode
// into Event.
func refCheck(sc schema, path string, v any) error {
	switch sc.kind {
	case kindString:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s must be a string", path)
		}
		return nil
	case kindBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s must be a boolean", path)
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s must be an object", path)
	}
	fields := make(map[string]schema, len(sc.fields))
	for _, f := range sc.fields {
		fields[f.name] = f.schema
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if fv, present := obj[name]; present {
			if err := refCheck(fields[name], path+"."+name, fv); err != nil {
				return err
			}
		}
	}
	if sc.entries != nil {
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			if err := refCheck(*sc.entries, path+"."+sc.entryName, obj[key]); err != nil {
				return err
			}
		}
	}
	return nil
}

func refDecodeEvent(body []byte) (Event, error) {
	var doc any
	if err := decodeStrict(body, &doc); err != nil {
		return Event{}, errors.New("body is not valid JSON")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return Event{}, errors.New("body must be a JSON object")
	}
	if err := refCheck(eventSchema, "body", obj); err != nil {
		return Event{}, err
	}
	name, _ := obj["name"].(string)
	if _, hasTraits := obj["traits"]; name == "" && !hasTraits {
		return Event{}, errors.New("body has neither a name nor traits")
	}
	var ev Event
	if err := decodeStrict(body, &ev); err != nil {
		return Event{}, errors.New("body does not decode as an event")
	}
	return ev, nil
}

// decodeCases are bodies around every rule decodeEvent and its parser
// must follow exactly, grouped by the rule.
var decodeCases = []struct {
	name   string
	bodies []string
}{
	{"events as the bridge sends them", []string{
		`{"traits":{"phones":{"+15515557212":{}}},"name":"Interaction Queued","properties":{"campaign_id":61,"queue_name":"New Form - High Net Worth"},"eventSource":"8x8","originalTimestamp":"2024-08-26 15:18:03 +00:00"}`,
		`{"name":"x","userId":"u","properties":{"a":[1,2.5,-0.1e+3,true,null,{"b":"c"}],"n":61.0,"s":"61"}}`,
		`{"traits":{"phones":{"+1":{"label":"Mobile","isPrimary":true},"+2":{"isPrimary":false}}}}`,
	}},
	{"documented fields of the wrong type", []string{
		`{"traits":{"phones":{"+1":{"label":5},"+2":{"isPrimary":"no"}}},"name":"x"}`,
		`{"traits":{"emails":{"a@b":{"emailOptIn":{"subscribed":"yes"}}},"address":{"city":1}},"name":"x"}`,
		`{"name":null}`, `{"name":"x","properties":null}`, `{"name":"x","traits":null}`,
		`{"name":"x","traits":{"phones":{"+1":null}}}`, `{"name":"x","userId":1}`,
	}},
	{"documented fields only encoding/json fills, and custom traits", []string{
		`{"name":"x","traits":{"firstName":"A","lastName":"B","phones":{"+1":{"label":"Mobile","isPrimary":true,` +
			`"voiceOptIn":{"subscribed":true,"ip":"1.2.3.4","source":"s","text":"t","timestamp":"ts"},"smsOptIn":{"subscribed":false}}},` +
			`"emails":{"a@b":{"label":"Personal","isPrimary":true,"emailOptIn":{"subscribed":true}}},` +
			`"address":{"street":"s","city":"c","state":"st","zipcode":"z","country":"co"}}}`,
		`{"name":"x","traits":{"FIRSTNAME":"A","phones":{"+1":{}}}}`, `{"name":"x","traits":{"phones":{"+1":{"SmsOptIn":{"subscribed":true}}}}}`,
		`{"name":"x","traits":{"phones":{"+1":{}},"customTrait1":"v","customTrait2":2}}`,
	}},
	{"member names matching a field only case-insensitively", []string{
		`{"name":"x","Name":"y"}`, `{"NAME":"x","traits":{}}`, `{"name":"x","Traits":"t"}`, `{"name":"x","traits":{"Phones":1}}`,
		`{"name":"x","traits":{"phones":{"+1":{"Label":1}}}}`, `{"name":"x","traitſ":{"phones":5}}`, `{"name":"x","uſerId":5}`,
	}},
	{"repeated keys", []string{
		`{"name":"x","properties":{"a":1},"properties":{"b":2}}`, `{"traits":{"phones":{"+1":{}}},"traits":{"phones":{"+2":{}}}}`,
		`{"name":"x","traits":{"phones":{"+1":{}},"phones":{"+2":{}}}}`, `{"name":"a","name":"b"}`,
	}},
	{"escapes and invalid UTF-8", []string{
		`{"name":"\u0041\ud83d\ude00\ud800x\\\/\b\f\n\r\t\"","prop\u0065rties":{"a":"\udc00"},"properties":{"b":1}}`,
		"{\"name\":\"\xff\xfe bad utf8\",\"eventSource\":\"\xed\xa0\x80\"}",
	}},
	{"neither a name nor traits, or not an object", []string{
		`{"name":""}`, `{"name":"","traits":{}}`, `{}`, `[]`, `"x"`, `1`, `null`, ``, ` `,
	}},
	{"whitespace around the value", []string{` {"name":"x"} `, "\t{\"name\":\"x\"}\r\n"}},
	{"syntax errors and trailing data", []string{
		`{"name":"x"} {}`, `{"name":"x"}x`, `{"name":"x",}`, `{"name":"x" "a":1}`, `{"name":x}`, `{"name":"x","a":[1,]}`,
		`{"name":"x","a":tru}`, `{"name":"x","a":nul}`, `{"name":"x","a":"\x"}`, `{"name":"x","a":"\u12"}`, "{\"name\":\"x\",\"a\":\"\x01\"}",
	}},
	{"numbers", []string{
		`{"name":"x","a":01}`, `{"name":"x","a":-}`, `{"name":"x","a":1.}`, `{"name":"x","a":1e}`, `{"name":"x","a":.5}`, `{"name":"x","a":+1}`,
		`{"name":"x","a":1E+2,"b":-0,"c":0.0e-0}`, `{"name":"x","a":[[[[]]]],"b":{}}`,
	}},
	{"nesting limit", []string{
		strings.Repeat("[", jsonsyntax.MaxDepth) + strings.Repeat("]", jsonsyntax.MaxDepth),
		strings.Repeat("[", jsonsyntax.MaxDepth+1) + strings.Repeat("]", jsonsyntax.MaxDepth+1),
		`{"name":"x","p":` + strings.Repeat(`{"a":`, jsonsyntax.MaxDepth-1) + `1` + strings.Repeat("}", jsonsyntax.MaxDepth-1) + `}`,
		`{"name":"x","p":` + strings.Repeat(`{"a":`, jsonsyntax.MaxDepth) + `1` + strings.Repeat("}", jsonsyntax.MaxDepth) + `}`,
	}},
}

// TestFastPathKnowsEveryField keeps eventFromDocument's name lists equal
// to the wire types' fields: a field it neither fills nor declines for
// would be left empty.
func TestFastPathKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		typ   reflect.Type
		names []string
	}{
		{reflect.TypeFor[Event](), eventNames},
		{reflect.TypeFor[Traits](), slices.Concat(traitsNames, traitsOtherNames)},
		{reflect.TypeFor[Phone](), slices.Concat(phoneNames, phoneOtherNames)},
	} {
		var fields []string
		for i := range tc.typ.NumField() {
			name, _, _ := strings.Cut(tc.typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
		}
		if !reflect.DeepEqual(slices.Sorted(slices.Values(fields)), slices.Sorted(slices.Values(tc.names))) {
			t.Errorf("%s has json fields %v; eventFromDocument knows %v", tc.typ, fields, tc.names)
		}
	}
}

func TestDecodeEventMatchesReference(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range tc.bodies {
				assertDecodeLikeReference(t, []byte(body))
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, tc := range decodeCases {
		for _, body := range tc.bodies {
			f.Add([]byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		assertDecodeLikeReference(t, body)
	})
}

func assertDecodeLikeReference(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := refDecodeEvent(body)
	got, gotErr := decodeEvent(body)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		short := string(body)
		if len(short) > 200 {
			short = short[:200] + "…"
		}
		t.Errorf("decodeEvent(%q) = %+v, %v; want %+v, %v", short, got, gotErr, want, wantErr)
	}
}

func TestHeaderEncodingRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"empty", http.Header{}},
		{"only Authorization", http.Header{"Authorization": {"k"}}},
		{"Authorization among others", http.Header{"Authorization": {"k"}, "Content-Type": {"application/json"}, "X-Many": {"a", "", "c"}}},
		{"empty and nil value lists", http.Header{"Empty": {}, "Nil": nil, "lower-case key": {"v"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.header.Clone()
			want.Del("Authorization")
			encoded := appendHeader(nil, tc.header)
			if got := decodeHeader(encoded); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip of %#v = %#v, want %#v", tc.header, got, want)
			}
			if len(encoded) > headerSize(tc.header) {
				t.Errorf("headerSize = %d, below the %d bytes written", headerSize(tc.header), len(encoded))
			}
		})
	}
}

func TestParseDocumentMatchesDecoder(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range tc.bodies {
				var want any
				wantErr := decodeStrict([]byte(body), &want)
				got, _, ok := parseDocument([]byte(body))
				if ok != (wantErr == nil) || ok && !reflect.DeepEqual(got, want) {
					t.Errorf("parseDocument(%.80q) = %v, %v; decoder: %v, %v", body, got, ok, want, wantErr)
				}
			}
		})
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	body := benchBody(7)
	for _, impl := range []struct {
		name   string
		decode func([]byte) (Event, error)
	}{{"reference", refDecodeEvent}, {"decodeEvent", decodeEvent}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
