package sapidouble

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/internal/jsonsyntax"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
)

// compactCases are events around every rule isCompactJSON must follow,
// grouped by the rule.
var compactCases = []struct {
	name   string
	events []string
}{
	{"compact events", []string{
		`{"Interaction":{"event":"E","interactionGUID":"g","queueId":1}}`,
		`{"A":{"a":"}\"{","b":[{"c":1}],"msgInfo":{}}}`, `{"A":{"z":1,"msgInfo":{"sequenceId":1},"b":2}}`,
		`{"A":{},"B":{}}`,
	}},
	{"whitespace outside strings", []string{`{ "A":{}}`, "{\"A\":{}}\n", `{"A":{"b":[1, 2]}}`, `{"A":{"b":"x y"}}`}},
	{"numbers and literals", []string{
		`{"A":{"n":[-0,0.5,1e5,1E-5,-1.5e+10,true,false,null]}}`, `{"A":{"n":01}}`, `{"A":{"n":1.}}`, `{"A":{"n":.1}}`,
		`{"A":{"n":-}}`, `{"A":{"n":1e}}`, `{"A":{"n":+1}}`, `{"A":{"n":tru}}`, `{"A":{"n":nulll}}`,
	}},
	{"escapes, control characters and invalid UTF-8", []string{
		`{"A":{"s":"\u00e9\ud83d\ude00\n\t\\\/\""}}`, `{"A":{"s":"\x"}}`, `{"A":{"s":"\u12g4"}}`, "{\"A\":{\"s\":\"\x01\"}}",
		"{\"A\":{\"s\":\"\xff\xfe\"}}",
	}},
	{"syntax errors and trailing data", []string{
		`{"A":{"b":1,}}`, `{"A":{"b":[1,]}}`, `{"A":{,}}`, `{"A"}`, `{"A":}`, `{"A":{}}{}`, `{"A":{}}x`, `{"A":{"b":}}`,
	}},
	{"not a SAPI event", []string{`[]`, `{}`, `"x"`, `1`, ``, ` `}},
	{"nesting limit", []string{
		strings.Repeat("[", jsonsyntax.MaxDepth) + strings.Repeat("]", jsonsyntax.MaxDepth),
		strings.Repeat("[", jsonsyntax.MaxDepth+1) + strings.Repeat("]", jsonsyntax.MaxDepth+1),
	}},
}

// refPrepareStamp is the original publish path: json.Compact always, then
// a bytes.Buffer splice.
func refPrepareStamp(event, msgInfo []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, event); err != nil {
		return nil, err
	}
	p, err := prepare(buf.Bytes())
	if err != nil {
		return nil, err
	}
	if p.keepMsgInfo {
		return p.json, nil
	}
	var out bytes.Buffer
	out.Write(p.json[:p.replaceFrom])
	if p.insert {
		if p.insertComma == "before" {
			out.WriteByte(',')
		}
		out.WriteString(`"msgInfo":`)
	}
	out.Write(msgInfo)
	if p.insertComma == "after" {
		out.WriteByte(',')
	}
	out.Write(p.json[p.replaceTo:])
	return out.Bytes(), nil
}

func assertPrepareLikeReference(t *testing.T, event []byte) {
	t.Helper()
	info := newTenantState("t").nextMsgInfo(time.UnixMilli(1))
	if isCompactJSON(event) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, event); err != nil || !bytes.Equal(buf.Bytes(), event) {
			t.Fatalf("isCompactJSON(%.80q) but json.Compact gives %.80q, %v", event, buf.Bytes(), err)
		}
	}
	want, wantErr := refPrepareStamp(event, info)
	input := bytes.Clone(event)
	p, err := prepare(input)
	var got []byte
	if err == nil {
		got = p.stamp(info)
		clear(input) // the stamped event must not share the caller's bytes
	}
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
		t.Fatalf("prepare+stamp(%.80q) = %q, %v; want %q, %v", event, got, err, want, wantErr)
	}
}

func TestPrepareMatchesReference(t *testing.T) {
	for _, tc := range compactCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, ev := range tc.events {
				assertPrepareLikeReference(t, []byte(ev))
			}
		})
	}
	t.Run("scenario events", func(t *testing.T) {
		for _, ev := range scenario.Interleave(scenario.Mix(3, "t", 50, time.Unix(1724685483, 0)), 3) {
			assertPrepareLikeReference(t, ev)
		}
	})
}

func FuzzPrepare(f *testing.F) {
	for _, tc := range compactCases {
		for _, ev := range tc.events {
			f.Add([]byte(ev))
		}
	}
	f.Fuzz(assertPrepareLikeReference)
}
