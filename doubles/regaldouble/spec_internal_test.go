package regaldouble

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/internal/openapitest"
	"github.com/ccbridge/bridge/internal/secret"
)

// regalSpec is Regal's published OpenAPI for POST /events, kept in the
// repository; the client's tests read the same file.
const regalSpec = "../../testdata/regal/regal-events-openapi.yml"

// specOptions are where Regal's body is the sender's own: "properties" is
// "an arbitrary object of properties" whose listed members are examples,
// and customTrait1 and customTrait2 are examples of custom traits, which
// Regal keeps as contact properties and the double does not record.
var specOptions = openapitest.Options{
	FreeForm: []string{"properties"},
	Examples: []string{"traits.customTrait1", "traits.customTrait2"},
}

// exampleKeys stand for the spec's data-keyed members in built bodies.
var exampleKeys = map[string]string{"{phone}": "+15515557212", "{email}": "anna@example.com"}

func loadRequestBody(t *testing.T) *openapitest.Schema {
	t.Helper()
	return openapitest.Load(t, regalSpec).RequestBody(t, "post", "/events")
}

func TestWire_types_match_the_spec(t *testing.T) {
	spec := openapitest.Load(t, regalSpec)
	tests := []struct {
		name   string
		typ    reflect.Type
		schema *openapitest.Schema
		opts   openapitest.Options
	}{
		{"request body is Event", reflect.TypeFor[Event](), spec.RequestBody(t, "post", "/events"), specOptions},
		{"200 answer is Answer", reflect.TypeFor[Answer](), spec.ResponseBody(t, "post", "/events", "200"), openapitest.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range openapitest.CheckType(tt.typ, tt.schema, tt.opts) {
				t.Error(p)
			}
		})
	}
}

// validatedKinds lists every path the double's validation checks, with
// the JSON type it demands.
func validatedKinds(sc schema, path string, out map[string]string) {
	names := map[kind]string{kindString: "string", kindBoolean: "boolean", kindObject: "object"}
	for _, f := range sc.fields {
		p := strings.TrimPrefix(path+"."+f.name, ".")
		out[p] = names[f.schema.kind]
		validatedKinds(f.schema, p, out)
	}
	if sc.entries != nil {
		p := strings.TrimPrefix(path+"."+sc.entryName, ".")
		out[p] = names[sc.entries.kind]
		validatedKinds(*sc.entries, p, out)
	}
}

// specKinds lists every property of the spec the double must check, with
// its JSON type: all but the members of free-form objects and the examples
// of custom members.
func specKinds(body *openapitest.Schema) map[string]string {
	out := map[string]string{}
	for _, p := range openapitest.Paths(body) {
		if underFreeForm(p) || slices.Contains(specOptions.Examples, p) {
			continue
		}
		out[p] = body.At(p).Kind()
	}
	return out
}

func underFreeForm(path string) bool {
	return slices.ContainsFunc(specOptions.FreeForm, func(f string) bool { return strings.HasPrefix(path, f+".") })
}

func TestWire_validation_checks_every_property_of_the_spec(t *testing.T) {
	want := specKinds(loadRequestBody(t))
	got := map[string]string{}
	validatedKinds(eventSchema, "", got)
	paths := maps.Clone(want)
	maps.Copy(paths, got)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		switch {
		case got[p] == "":
			t.Errorf("%s: a %s in the spec, not checked by the double", p, want[p])
		case want[p] == "":
			t.Errorf("%s: checked by the double as a %s, not in the spec", p, got[p])
		case got[p] != want[p]:
			t.Errorf("%s: a %s in the spec, checked by the double as a %s", p, want[p], got[p])
		}
	}
}

// exampleBody is the fullest body the spec shows: every documented
// property with its default value.
func exampleBody(t *testing.T) map[string]any {
	t.Helper()
	return openapitest.Example(t, loadRequestBody(t), exampleKeys)
}

// member returns the object holding the last name of path in doc and that
// name, with placeholders read through exampleKeys.
func member(t *testing.T, doc map[string]any, path string) (map[string]any, string) {
	t.Helper()
	names := strings.Split(path, ".")
	for i, n := range names {
		if k, ok := exampleKeys[n]; ok {
			names[i] = k
		}
	}
	obj := doc
	for _, n := range names[:len(names)-1] {
		next, ok := obj[n].(map[string]any)
		if !ok {
			t.Fatalf("%s: the example body has no object at %q", path, n)
		}
		obj = next
	}
	return obj, names[len(names)-1]
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWire_double_accepts_and_keeps_the_spec_example(t *testing.T) {
	doc := exampleBody(t)
	body := mustMarshal(t, doc)
	ev, err := decodeEvent(body)
	if err != nil {
		t.Fatalf("decodeEvent(the spec's example) = %v", err)
	}
	// Everything documented is kept except the custom-trait examples.
	for _, p := range specOptions.Examples {
		obj, name := member(t, doc, p)
		delete(obj, name)
	}
	want, got := openapitest.Decode(t, mustMarshal(t, doc)), openapitest.Decode(t, mustMarshal(t, ev))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded event re-encodes as\n%s\nwant\n%s", mustMarshal(t, got), mustMarshal(t, want))
	}

	// Over HTTP, the answer is the spec's 200 body.
	key := secret.Secret("rk_test_spec")
	srv := New(Config{APIKeys: []secret.Secret{key}}, nil)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", key.Reveal())
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST the spec's example = %d %s, want 200", resp.StatusCode, answer)
	}
	ok := openapitest.Load(t, regalSpec).ResponseBody(t, "post", "/events", "200")
	for _, p := range openapitest.CheckDocument(openapitest.Decode(t, answer), ok, openapitest.Options{}) {
		t.Errorf("answer %s: %s", answer, p)
	}
}

func TestWire_validation_rejects_each_property_of_the_wrong_type(t *testing.T) {
	wrong := map[string]any{"string": 5, "boolean": "yes", "object": "x"}
	want := map[string]string{"string": "a string", "boolean": "a boolean", "object": "an object"}
	kinds := specKinds(loadRequestBody(t))
	for _, path := range slices.Sorted(maps.Keys(kinds)) {
		k := kinds[path]
		t.Run(path, func(t *testing.T) {
			doc := exampleBody(t)
			obj, name := member(t, doc, path)
			obj[name] = wrong[k]
			_, err := decodeEvent(mustMarshal(t, doc))
			if msg := "body." + path + " must be " + want[k]; err == nil || err.Error() != msg {
				t.Errorf("with %s = %v: error %v, want %q", path, wrong[k], err, msg)
			}
		})
	}
}

func TestWire_validation_requires_what_the_spec_requires_and_no_more(t *testing.T) {
	body := loadRequestBody(t)
	for _, path := range openapitest.Paths(body) {
		if underFreeForm(path) || strings.HasSuffix(path, "}") {
			continue // a data key is the sender's own, never required
		}
		parent, name := "", path
		if i := strings.LastIndex(path, "."); i >= 0 {
			parent, name = path[:i], path[i+1:]
		}
		required := slices.Contains(body.At(parent).Required, name)
		t.Run(path, func(t *testing.T) {
			doc := exampleBody(t)
			obj, key := member(t, doc, path)
			delete(obj, key)
			_, err := decodeEvent(mustMarshal(t, doc))
			if required && err == nil {
				t.Errorf("without %s (required by the spec): accepted, want rejected", path)
			}
			if !required && err != nil {
				t.Errorf("without %s (optional in the spec): %v, want accepted", path, err)
			}
		})
	}
}
