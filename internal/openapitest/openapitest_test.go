package openapitest_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ccbridge/bridge/internal/openapitest"
)

// testSchema has one property of each kind the checks know, a required
// one, an object keyed by data and a free-form object.
const testSchema = `
type: object
required: [id]
properties:
  id: {type: string, default: x}
  count: {type: integer, default: 2}
  ratio: {type: number, default: 0.5}
  tags: {type: array, items: {type: string, default: t}}
  phones:
    type: object
    properties:
      '{phone}':
        type: object
        properties:
          primary: {type: boolean, default: true}
  extra:
    type: object
    properties:
      example: {type: string, default: e}
`

var testOptions = openapitest.Options{FreeForm: []string{"extra"}}

func schema(t *testing.T) *openapitest.Schema {
	t.Helper()
	var s openapitest.Schema
	if err := yaml.Unmarshal([]byte(testSchema), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

type phone struct {
	Primary *bool `json:"primary,omitempty"`
}

type exact struct {
	ID     string           `json:"id"`
	Count  int              `json:"count,omitempty"`
	Ratio  float64          `json:"ratio,omitempty"`
	Tags   []string         `json:"tags,omitempty"`
	Phones map[string]phone `json:"phones,omitempty"`
	Extra  map[string]any   `json:"extra,omitempty"`
}

type subset struct {
	ID string `json:"id"`
}

type misnamed struct {
	ID    string `json:"id"`
	Count int    `json:"cuont"`
}

type wrongTypes struct {
	ID     string            `json:"id"`
	Count  string            `json:"count"`
	Phones map[string]string `json:"phones"`
	Extra  struct{}          `json:"extra"`
}

type optionalRequired struct {
	ID string `json:"id,omitempty"`
}

func TestCheckType(t *testing.T) {
	tests := []struct {
		name   string
		typ    reflect.Type
		subset bool
		want   []string // a substring of each problem, in order
	}{
		{name: "exact_type_passes", typ: reflect.TypeFor[exact]()},
		{name: "subset_passes_when_allowed", typ: reflect.TypeFor[subset](), subset: true},
		{name: "subset_fails_otherwise", typ: reflect.TypeFor[subset](),
			want: []string{`"count" has no json field`, `"extra" has no json field`, `"phones" has no json field`, `"ratio" has no json field`, `"tags" has no json field`}},
		{name: "misnamed_field_is_caught_both_ways", typ: reflect.TypeFor[misnamed](), subset: true,
			want: []string{`json field "cuont"`}},
		{name: "wrong_types_are_caught", typ: reflect.TypeFor[wrongTypes](), subset: true,
			want: []string{"count: an integer in the spec, string in Go", "extra: an arbitrary object", "phones.{phone}: an object with documented properties"}},
		{name: "required_property_must_always_be_sent", typ: reflect.TypeFor[optionalRequired](), subset: true,
			want: []string{`required property "id"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions
			opts.Subset = tt.subset
			assertProblems(t, openapitest.CheckType(tt.typ, schema(t), opts), tt.want)
		})
	}
}

func TestCheckDocument(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{name: "documented_members_pass", body: `{"id":"a","count":3,"ratio":1.5,"tags":["x"],"phones":{"+1":{"primary":true}},"extra":{"any":1}}`},
		{name: "required_member_missing", body: `{"count":3}`, want: []string{`required property "id" is missing`}},
		{name: "undocumented_member", body: `{"id":"a","Count":3}`, want: []string{`member "Count" is not a property`}},
		{name: "wrong_types_and_null", body: `{"id":null,"count":1.5,"tags":[1],"phones":{"+1":{"primary":"yes"}}}`,
			want: []string{"count: must be an integer", "id: must be a string, is null", "phones.{phone}.primary: must be a boolean", "tags.[]: must be a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := openapitest.Decode(t, []byte(tt.body))
			assertProblems(t, openapitest.CheckDocument(doc, schema(t), testOptions), tt.want)
		})
	}
}

func TestExample_builds_a_document_the_schema_accepts(t *testing.T) {
	s := schema(t)
	doc := openapitest.Example(t, s, map[string]string{"{phone}": "+15515557212"})
	if _, ok := doc["phones"].(map[string]any)["+15515557212"]; !ok {
		t.Errorf("example %v: the phone key is not used", doc)
	}
	// Example values come from YAML; a JSON round trip makes them what a
	// decoded body holds.
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	assertProblems(t, openapitest.CheckDocument(openapitest.Decode(t, body), s, testOptions), nil)
	if got := openapitest.Paths(s); !slices.Contains(got, "phones.{phone}.primary") || !slices.Contains(got, "extra.example") {
		t.Errorf("Paths = %v, want nested and placeholder paths", got)
	}
}

func assertProblems(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("problems:\n  %s\nwant %d containing %q", strings.Join(got, "\n  "), len(want), want)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}
