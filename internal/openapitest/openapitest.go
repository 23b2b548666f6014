// Package openapitest checks Go wire types and JSON documents against the
// schemas of an OpenAPI document kept in the repository, so that a client
// and the double standing in for its server are each held to the
// published contract rather than to each other.
//
// It reads the part of OpenAPI 3 that JSON bodies use: type, properties,
// required, items and default. An object whose only property is named
// "{something}" (Regal's "{phone}") is keyed by data: every member has that
// property's schema. $ref is not followed: a schema using it fails loudly.
package openapitest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Schema is one node of a JSON schema.
type Schema struct {
	Type       string             `yaml:"type"`
	Format     string             `yaml:"format"`
	Properties map[string]*Schema `yaml:"properties"`
	Required   []string           `yaml:"required"`
	Items      *Schema            `yaml:"items"`
	Default    any                `yaml:"default"`
	Ref        string             `yaml:"$ref"`
}

// Kind is the schema's JSON type; an untyped schema with properties is an
// object.
func (s *Schema) Kind() string {
	if s.Type == "" && s.Properties != nil {
		return "object"
	}
	return s.Type
}

// Placeholder returns the name and schema of the single "{name}" property
// of an object keyed by data, or ok false.
func (s *Schema) Placeholder() (name string, entry *Schema, ok bool) {
	if len(s.Properties) != 1 {
		return "", nil, false
	}
	for name, entry := range s.Properties {
		if strings.HasPrefix(name, "{") && strings.HasSuffix(name, "}") {
			return name, entry, true
		}
	}
	return "", nil, false
}

// document is the part of an OpenAPI document the checks read.
type document struct {
	Paths map[string]map[string]struct {
		RequestBody struct {
			Content map[string]struct {
				Schema *Schema `yaml:"schema"`
			} `yaml:"content"`
		} `yaml:"requestBody"`
		Responses map[string]struct {
			Content map[string]struct {
				Schema *Schema `yaml:"schema"`
			} `yaml:"content"`
		} `yaml:"responses"`
	} `yaml:"paths"`
}

// Spec is a loaded OpenAPI document.
type Spec struct {
	file string
	doc  document
}

// Load reads the OpenAPI document at file (a path inside the repository,
// relative to the test's package directory).
func Load(t testing.TB, file string) *Spec {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the OpenAPI document: %v", err)
	}
	var doc document
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	return &Spec{file: file, doc: doc}
}

// RequestBody is the application/json request body schema of method
// (lower case, as in the document: "post") on path.
func (s *Spec) RequestBody(t testing.TB, method, path string) *Schema {
	t.Helper()
	op, ok := s.doc.Paths[path][method]
	if !ok {
		t.Fatalf("%s has no %s %s", s.file, method, path)
	}
	return s.checked(t, op.RequestBody.Content["application/json"].Schema, method+" "+path+" request body")
}

// ResponseBody is the application/json schema of the answer with status
// (as in the document: "200") to method on path.
func (s *Spec) ResponseBody(t testing.TB, method, path, status string) *Schema {
	t.Helper()
	op, ok := s.doc.Paths[path][method]
	if !ok {
		t.Fatalf("%s has no %s %s", s.file, method, path)
	}
	return s.checked(t, op.Responses[status].Content["application/json"].Schema, method+" "+path+" "+status+" response")
}

func (s *Spec) checked(t testing.TB, sc *Schema, what string) *Schema {
	t.Helper()
	if sc == nil {
		t.Fatalf("%s: %s has no application/json schema", s.file, what)
	}
	if ref := findRef(sc); ref != "" {
		t.Fatalf("%s: %s uses $ref %q, which openapitest does not follow", s.file, what, ref)
	}
	return sc
}

func findRef(s *Schema) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return s.Ref
	}
	for _, p := range s.Properties {
		if r := findRef(p); r != "" {
			return r
		}
	}
	return findRef(s.Items)
}

// Options say where a Go type or a document departs from the schema on
// purpose. Paths are dotted property names from the body's root, with a
// data key written as its placeholder: "traits.phones.{phone}.label".
type Options struct {
	// FreeForm are objects whose members are the sender's own ("an
	// arbitrary object of properties"): the members the schema lists there
	// are examples, any member is allowed, and the Go type is a map.
	FreeForm []string
	// Examples are properties the schema shows as examples of the sender's
	// own members (a custom trait): a Go type need not have them.
	Examples []string
	// Subset lets a Go type leave out properties the schema documents (a
	// client sends what it needs); without it, every documented property
	// must have a field.
	Subset bool
}

func (o Options) freeForm(path string) bool { return slices.Contains(o.FreeForm, path) }
func (o Options) example(path string) bool  { return slices.Contains(o.Examples, path) }

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	goName    string
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields lists the members encoding/json writes for struct type t.
// Embedded fields are refused: they would hide where a name comes from.
func jsonFields(t reflect.Type) (map[string]jsonField, []string) {
	fields := map[string]jsonField{}
	var problems []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			problems = append(problems, fmt.Sprintf("%s embeds %s; name its fields instead", t, f.Name))
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fields[name] = jsonField{goName: f.Name, typ: f.Type, omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return fields, problems
}

// CheckType reports every way Go type t, as encoding/json reads and writes
// it, departs from schema s: a documented property without a field (unless
// opts.Subset or an example), a field the schema does not document, a
// field whose Go type cannot hold the property's JSON type, and a required
// property whose field is left out when empty. Each problem names its
// path.
func CheckType(t reflect.Type, s *Schema, opts Options) []string {
	var problems []string
	checkType(t, s, "", opts, &problems)
	return problems
}

func checkType(t reflect.Type, s *Schema, path string, opts Options, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	at := path
	if at == "" {
		at = "the body"
	}
	bad := func(format string, args ...any) {
		*problems = append(*problems, at+": "+fmt.Sprintf(format, args...))
	}
	if opts.freeForm(path) {
		if t.Kind() != reflect.Map || t.Key().Kind() != reflect.String {
			bad("an arbitrary object, so a map keyed by string, not %s", t)
		}
		return
	}
	switch s.Kind() {
	case "string":
		if t.Kind() != reflect.String {
			bad("a string in the spec, %s in Go", t)
		}
	case "boolean":
		if t.Kind() != reflect.Bool {
			bad("a boolean in the spec, %s in Go", t)
		}
	case "integer":
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			bad("an integer in the spec, %s in Go", t)
		}
	case "number":
		if t.Kind() != reflect.Float32 && t.Kind() != reflect.Float64 {
			bad("a number in the spec, %s in Go", t)
		}
	case "array":
		if t.Kind() != reflect.Slice || s.Items == nil {
			bad("an array in the spec, %s in Go", t)
			return
		}
		checkType(t.Elem(), s.Items, join(path, "[]"), opts, problems)
	case "object":
		checkObjectType(t, s, path, opts, problems, bad)
	default:
		bad("schema type %q is not one openapitest knows", s.Type)
	}
}

func checkObjectType(t reflect.Type, s *Schema, path string, opts Options, problems *[]string, bad func(string, ...any)) {
	if name, entry, ok := s.Placeholder(); ok {
		if t.Kind() != reflect.Map || t.Key().Kind() != reflect.String {
			bad("an object keyed by %s in the spec, so a map keyed by string, not %s", name, t)
			return
		}
		checkType(t.Elem(), entry, join(path, name), opts, problems)
		return
	}
	if t.Kind() != reflect.Struct {
		bad("an object with documented properties in the spec, so a struct, not %s", t)
		return
	}
	fields, embedded := jsonFields(t)
	for _, p := range embedded {
		bad("%s", p)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		f, ok := fields[name]
		switch {
		case !ok && slices.Contains(s.Required, name):
			bad("required property %q has no json field in %s", name, t)
		case !ok && !opts.Subset && !opts.example(join(path, name)):
			bad("property %q has no json field in %s", name, t)
		case ok:
			if slices.Contains(s.Required, name) && f.omitEmpty {
				bad("required property %q: field %s.%s is left out when empty (omitempty)", name, t, f.goName)
			}
			checkType(f.typ, s.Properties[name], join(path, name), opts, problems)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if _, ok := s.Properties[name]; !ok {
			bad("json field %q (%s.%s) is not a property in the spec", name, t, fields[name].goName)
		}
	}
}

// Decode reads one JSON document the way CheckDocument expects it,
// numbers kept as json.Number so that an integer is told from a number.
func Decode(t testing.TB, body []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return v
}

// CheckDocument reports every way a decoded JSON document (see Decode)
// departs from schema s: a member the schema does not document (outside
// opts.FreeForm objects), a member of the wrong JSON type (null included),
// and a required property left out.
func CheckDocument(v any, s *Schema, opts Options) []string {
	var problems []string
	checkDocument(v, s, "", opts, &problems)
	return problems
}

func checkDocument(v any, s *Schema, path string, opts Options, problems *[]string) {
	at := path
	if at == "" {
		at = "the body"
	}
	bad := func(format string, args ...any) {
		*problems = append(*problems, at+": "+fmt.Sprintf(format, args...))
	}
	if opts.freeForm(path) {
		if _, ok := v.(map[string]any); !ok {
			bad("must be an object, is %s", jsonType(v))
		}
		return
	}
	switch s.Kind() {
	case "string", "boolean", "array":
		if got := jsonType(v); got != s.Kind() {
			bad("must be a %s, is %s", s.Kind(), got)
			return
		}
		if s.Kind() == "array" && s.Items != nil {
			for _, item := range v.([]any) {
				checkDocument(item, s.Items, join(path, "[]"), opts, problems)
			}
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			bad("must be an integer, is %s", jsonType(v))
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			bad("must be a number, is %s", jsonType(v))
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("must be an object, is %s", jsonType(v))
			return
		}
		if name, entry, ok := s.Placeholder(); ok {
			for _, key := range slices.Sorted(maps.Keys(obj)) {
				checkDocument(obj[key], entry, join(path, name), opts, problems)
			}
			return
		}
		for _, name := range s.Required {
			if _, ok := obj[name]; !ok {
				bad("required property %q is missing", name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(obj)) {
			p, ok := s.Properties[name]
			if !ok {
				bad("member %q is not a property in the spec", name)
				continue
			}
			checkDocument(obj[name], p, join(path, name), opts, problems)
		}
	default:
		bad("schema type %q is not one openapitest knows", s.Type)
	}
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Example builds a document from schema s out of its default values, every
// documented property present: a body as complete as the spec can show.
// keys gives the data key to use for each placeholder ("{phone}":
// "+15515557212"). A leaf without a default fails the test.
func Example(t testing.TB, s *Schema, keys map[string]string) map[string]any {
	t.Helper()
	v, ok := example(t, s, "", keys).(map[string]any)
	if !ok {
		t.Fatal("the schema's root is not an object")
	}
	return v
}

func example(t testing.TB, s *Schema, path string, keys map[string]string) any {
	t.Helper()
	switch s.Kind() {
	case "object":
		out := map[string]any{}
		for name, p := range s.Properties {
			if _, _, ok := s.Placeholder(); ok {
				key, ok := keys[name]
				if !ok {
					t.Fatalf("%s: no data key given for %s", path, name)
				}
				out[key] = example(t, p, join(path, name), keys)
				continue
			}
			out[name] = example(t, p, join(path, name), keys)
		}
		return out
	case "array":
		return []any{example(t, s.Items, join(path, "[]"), keys)}
	}
	if s.Default == nil {
		t.Fatalf("%s: no default to build an example from", path)
	}
	return s.Default
}

// Paths lists the dotted path of every property in s, placeholders
// included, sorted: what a test walks to try each property in turn.
func Paths(s *Schema) []string {
	var out []string
	var walk func(s *Schema, path string)
	walk = func(s *Schema, path string) {
		for name, p := range s.Properties {
			out = append(out, join(path, name))
			walk(p, join(path, name))
		}
		if s.Items != nil {
			walk(s.Items, join(path, "[]"))
		}
	}
	walk(s, "")
	slices.Sort(out)
	return out
}

// At returns the schema at a dotted path (see Paths), or nil.
func (s *Schema) At(path string) *Schema {
	if path == "" {
		return s
	}
	cur := s
	for name := range strings.SplitSeq(path, ".") {
		if cur == nil {
			return nil
		}
		if name == "[]" {
			cur = cur.Items
			continue
		}
		cur = cur.Properties[name]
	}
	return cur
}
