package sapidouble

import "testing"

func TestPrepare_splices_msginfo(t *testing.T) {
	const info = `{"instanceId":"i","sequenceId":7,"timestamp":1}`
	tests := []struct {
		name  string
		event string
		want  string
	}{
		{"inserted_in_alphabetical_place", `{"Interaction":{"event":"E","interactionGUID":"g","queueId":1}}`,
			`{"Interaction":{"event":"E","interactionGUID":"g","msgInfo":` + info + `,"queueId":1}}`},
		{"inserted_first", `{"A":{"x":1}}`, `{"A":{"msgInfo":` + info + `,"x":1}}`},
		{"inserted_last", `{"A":{"a":"}\"{","b":[{"c":1}]}}`, `{"A":{"a":"}\"{","b":[{"c":1}],"msgInfo":` + info + `}}`},
		{"inserted_into_empty_body", `{"A":{}}`, `{"A":{"msgInfo":` + info + `}}`},
		{"replaced", `{"A":{"z":1,"msgInfo":{"sequenceId":1},"b":2}}`, `{"A":{"z":1,"msgInfo":` + info + `,"b":2}}`},
		{"empty_msginfo_kept", `{"A":{"msgInfo":{},"b":2}}`, `{"A":{"msgInfo":{},"b":2}}`},
		{"whitespace_compacted", "{ \"A\" : {\n \"b\" : \"x y\" } }", `{"A":{"b":"x y","msgInfo":` + info + `}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := prepare([]byte(tt.event))
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if got := string(p.stamp([]byte(info))); got != tt.want {
				t.Fatalf("stamped\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestPrepare_rejects_non_events(t *testing.T) {
	for _, bad := range []string{``, `[]`, `{}`, `{"A":1}`, `{"A":{},"B":{}}`, `{"A":{"b":}}`, `"x"`} {
		if _, err := prepare([]byte(bad)); err == nil {
			t.Errorf("prepare(%q) succeeded", bad)
		}
	}
}

func TestJSONToXML(t *testing.T) {
	got, err := jsonToXML([]byte(`{"Interaction":{"attachedData":{"attachedDatum":[{"attachedDataKey":"@pri","attachedDataValue":100},{"attachedDataKey":"n","attachedDataValue":"A&B <x>"}]},"isQueued":false,"msgInfo":{},"x":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := xmlDeclaration + `<Interaction><attachedData><attachedDatum><attachedDataKey>@pri</attachedDataKey><attachedDataValue>100</attachedDataValue></attachedDatum>` +
		`<attachedDatum><attachedDataKey>n</attachedDataKey><attachedDataValue>A&amp;B &lt;x&gt;</attachedDataValue></attachedDatum></attachedData>` +
		`<isQueued>false</isQueued><msgInfo></msgInfo><x/></Interaction>`
	if string(got) != want {
		t.Fatalf("jsonToXML =\n %s\nwant\n %s", got, want)
	}
}
