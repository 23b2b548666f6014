package regaldouble

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/ccbridge/bridge/dispatcher/regal"
)

// kind is a JSON type named by Regal's OpenAPI.
type kind int

const (
	kindString kind = iota
	kindBoolean
	kindObject
)

// schema is the part of Regal's OpenAPI for POST /events the double
// enforces: the type of each documented field. Undocumented fields are
// allowed, as Regal turns unknown traits into custom contact properties.
type schema struct {
	kind kind
	// fields are the documented members of an object, sorted by name so
	// that the first error found is stable without sorting per request.
	fields []field
	// entries, when set, is the schema of every member of an object keyed
	// by data (a phone number or an email address).
	entries *schema
	// entryName stands for such a key in error paths, as in the OpenAPI:
	// "{phone}", "{email}".
	entryName string
}

// field is one documented member of an object.
type field struct {
	name   string
	schema schema
}

// object is the schema of an object with the given documented members.
func object(fields map[string]schema) schema {
	sc := schema{kind: kindObject}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		sc.fields = append(sc.fields, field{name, fields[name]})
	}
	return sc
}

var (
	str     = schema{kind: kindString}
	boolean = schema{kind: kindBoolean}

	optInSchema = object(map[string]schema{
		"subscribed": boolean, "ip": str, "source": str, "text": str, "timestamp": str,
	})
	phoneSchema = object(map[string]schema{
		"label": str, "isPrimary": boolean, "voiceOptIn": optInSchema, "smsOptIn": optInSchema,
	})
	emailSchema = object(map[string]schema{
		"label": str, "isPrimary": boolean, "emailOptIn": optInSchema,
	})
	eventSchema = object(map[string]schema{
		"userId":            str,
		"name":              str,
		"eventSource":       str,
		"originalTimestamp": str,
		"properties":        {kind: kindObject},
		"traits": object(map[string]schema{
			"firstName": str,
			"lastName":  str,
			"phones":    {kind: kindObject, entries: &phoneSchema, entryName: "{phone}"},
			"emails":    {kind: kindObject, entries: &emailSchema, entryName: "{email}"},
			"address": object(map[string]schema{
				"street": str, "city": str, "state": str, "zipcode": str, "country": str,
			}),
		}),
	})
)

// typeError is a field whose type differs from the schema. Its path is
// built only once a field fails, innermost name first.
type typeError struct {
	reversedPath []string
	want         string // "a string", "a boolean", "an object"
}

func (e *typeError) Error() string {
	var b strings.Builder
	for i := len(e.reversedPath) - 1; i >= 0; i-- {
		if i < len(e.reversedPath)-1 {
			b.WriteByte('.')
		}
		b.WriteString(e.reversedPath[i])
	}
	return b.String() + " must be " + e.want
}

// check reports the first field, in a stable order, whose type differs
// from sc. Paths name phone and email entries by their entryName so that
// no contact data reaches an error message.
func (sc schema) check(path string, v any) error {
	if e := sc.find(v); e != nil {
		e.reversedPath = append(e.reversedPath, path)
		return e
	}
	return nil
}

// find is check without the path of v itself.
func (sc schema) find(v any) *typeError {
	switch sc.kind {
	case kindString:
		if _, ok := v.(string); !ok {
			return &typeError{want: "a string"}
		}
		return nil
	case kindBoolean:
		if _, ok := v.(bool); !ok {
			return &typeError{want: "a boolean"}
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &typeError{want: "an object"}
	}
	for _, f := range sc.fields {
		if fv, present := obj[f.name]; present {
			if e := f.schema.find(fv); e != nil {
				e.reversedPath = append(e.reversedPath, f.name)
				return e
			}
		}
	}
	if sc.entries != nil {
		// Entries are checked in any order first; only a failure needs the
		// sorted order that makes the reported one stable.
		failed := false
		for _, ev := range obj {
			if sc.entries.find(ev) != nil {
				failed = true
				break
			}
		}
		if failed {
			for _, key := range slices.Sorted(maps.Keys(obj)) {
				if e := sc.entries.find(obj[key]); e != nil {
					e.reversedPath = append(e.reversedPath, sc.entryName)
					return e
				}
			}
		}
	}
	return nil
}

// decodeEvent checks body against Regal's OpenAPI for POST /events and
// decodes it. The body must be one JSON object whose documented fields have
// their documented types, with a non-empty name or traits (or both).
func decodeEvent(body []byte) (regal.Event, error) {
	doc, dups, ok := parseDocument(body)
	if !ok {
		return regal.Event{}, errors.New("body is not valid JSON")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return regal.Event{}, errors.New("body must be a JSON object")
	}
	if err := eventSchema.check("body", obj); err != nil {
		return regal.Event{}, err
	}
	name, _ := obj["name"].(string)
	if _, hasTraits := obj["traits"]; name == "" && !hasTraits {
		return regal.Event{}, errors.New("body has neither a name nor traits")
	}
	if !dups {
		if ev, ok := eventFromDocument(obj); ok {
			return ev, nil
		}
	}
	var ev regal.Event
	if err := decodeStrict(body, &ev); err != nil {
		// The decoder's message may quote a phone number used as a key.
		return regal.Event{}, errors.New("body does not decode as an event")
	}
	return ev, nil
}

// decodeStrict decodes exactly one JSON value from data into v, keeping
// numbers as json.Number.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// The JSON names of regal.Event, regal.Traits and regal.PhoneTrait, which
// eventFromDocument fills the way encoding/json would.
var (
	eventNames     = []string{"userId", "traits", "name", "properties", "eventSource", "originalTimestamp"}
	traitsNames    = []string{"phones"}
	phoneTraitName = []string{"label", "isPrimary"}
)

// eventShapeKnown reports whether regal.Event still has the fields
// eventFromDocument knows; if not, every body goes through encoding/json.
var eventShapeKnown = sameFields(reflect.TypeFor[regal.Event](), []reflect.StructField{
	{Name: "UserID", Type: reflect.TypeFor[string](), Tag: `json:"userId,omitempty"`},
	{Name: "Traits", Type: reflect.TypeFor[*regal.Traits](), Tag: `json:"traits,omitempty"`},
	{Name: "Name", Type: reflect.TypeFor[string](), Tag: `json:"name"`},
	{Name: "Properties", Type: reflect.TypeFor[map[string]any](), Tag: `json:"properties,omitempty"`},
	{Name: "EventSource", Type: reflect.TypeFor[string](), Tag: `json:"eventSource,omitempty"`},
	{Name: "OriginalTimestamp", Type: reflect.TypeFor[string](), Tag: `json:"originalTimestamp,omitempty"`},
}) && sameFields(reflect.TypeFor[regal.Traits](), []reflect.StructField{
	{Name: "Phones", Type: reflect.TypeFor[map[string]regal.PhoneTrait](), Tag: `json:"phones,omitempty"`},
}) && sameFields(reflect.TypeFor[regal.PhoneTrait](), []reflect.StructField{
	{Name: "Label", Type: reflect.TypeFor[string](), Tag: `json:"label,omitempty"`},
	{Name: "IsPrimary", Type: reflect.TypeFor[*bool](), Tag: `json:"isPrimary,omitempty"`},
})

func sameFields(t reflect.Type, want []reflect.StructField) bool {
	if t.NumField() != len(want) {
		return false
	}
	for i, w := range want {
		f := t.Field(i)
		if f.Name != w.Name || f.Type != w.Type || f.Tag != w.Tag || f.Anonymous {
			return false
		}
	}
	return true
}

// eventFromDocument builds from a checked document (no repeated keys) the
// event encoding/json decodes from the same body, reusing its properties
// map. It declines (false) when a member name matches a field only
// case-insensitively, which encoding/json also accepts; such bodies go
// through the decoder.
func eventFromDocument(obj map[string]any) (regal.Event, bool) {
	if !eventShapeKnown || !exactNames(obj, eventNames) {
		return regal.Event{}, false
	}
	var ev regal.Event
	ev.UserID, _ = obj["userId"].(string)
	ev.Name, _ = obj["name"].(string)
	ev.EventSource, _ = obj["eventSource"].(string)
	ev.OriginalTimestamp, _ = obj["originalTimestamp"].(string)
	ev.Properties, _ = obj["properties"].(map[string]any)
	if v, ok := obj["traits"]; ok {
		traits := v.(map[string]any) // checked by eventSchema
		if !exactNames(traits, traitsNames) {
			return regal.Event{}, false
		}
		ev.Traits = &regal.Traits{}
		if v, ok := traits["phones"]; ok {
			phones := v.(map[string]any)
			ev.Traits.Phones = make(map[string]regal.PhoneTrait, len(phones))
			for number, v := range phones {
				entry := v.(map[string]any)
				if !exactNames(entry, phoneTraitName) {
					return regal.Event{}, false
				}
				var pt regal.PhoneTrait
				pt.Label, _ = entry["label"].(string)
				if b, ok := entry["isPrimary"].(bool); ok {
					pt.IsPrimary = &b
				}
				ev.Traits.Phones[number] = pt
			}
		}
	}
	return ev, true
}

// exactNames reports that no member of obj would reach one of fields
// through encoding/json's case-insensitive matching: each member is
// either a field's exact name or matches none. Non-ASCII names are
// refused, as Unicode folding maps some of them onto ASCII letters.
func exactNames(obj map[string]any, fields []string) bool {
	for key := range obj {
		if slices.Contains(fields, key) {
			continue
		}
		for i := 0; i < len(key); i++ {
			if key[i] >= 0x80 {
				return false
			}
		}
		for _, f := range fields {
			if strings.EqualFold(key, f) {
				return false
			}
		}
	}
	return true
}
