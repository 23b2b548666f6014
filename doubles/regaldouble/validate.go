package regaldouble

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
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
func decodeEvent(body []byte) (Event, error) {
	doc, dups, ok := parseDocument(body)
	if !ok {
		return Event{}, errors.New("body is not valid JSON")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return Event{}, errors.New("body must be a JSON object")
	}
	if err := eventSchema.check("body", obj); err != nil {
		return Event{}, err
	}
	name, _ := obj["name"].(string)
	if _, hasTraits := obj["traits"]; name == "" && !hasTraits {
		return Event{}, errors.New("body has neither a name nor traits")
	}
	if !dups {
		if ev, ok := eventFromDocument(obj); ok {
			return ev, nil
		}
	}
	var ev Event
	if err := decodeStrict(body, &ev); err != nil {
		// The decoder's message may quote a phone number used as a key.
		return Event{}, errors.New("body does not decode as an event")
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

// The members of Event, Traits and Phone that eventFromDocument fills the
// way encoding/json would, and the other members of the same objects: a
// body naming one of those goes through encoding/json. The bridge sends
// only the first kind.
var (
	eventNames       = []string{"userId", "traits", "name", "properties", "eventSource", "originalTimestamp"}
	traitsNames      = []string{"phones"}
	traitsOtherNames = []string{"firstName", "lastName", "emails", "address"}
	phoneNames       = []string{"label", "isPrimary"}
	phoneOtherNames  = []string{"voiceOptIn", "smsOptIn"}
)

// eventFromDocument builds from a checked document (no repeated keys) the
// event encoding/json decodes from the same body, reusing its properties
// map. It declines (false) when a member name matches a field only
// case-insensitively, which encoding/json also accepts, or names a field
// it does not fill; such bodies go through the decoder.
func eventFromDocument(obj map[string]any) (Event, bool) {
	if !exactNames(obj, eventNames, nil) {
		return Event{}, false
	}
	var ev Event
	ev.UserID, _ = obj["userId"].(string)
	ev.Name, _ = obj["name"].(string)
	ev.EventSource, _ = obj["eventSource"].(string)
	ev.OriginalTimestamp, _ = obj["originalTimestamp"].(string)
	ev.Properties, _ = obj["properties"].(map[string]any)
	if v, ok := obj["traits"]; ok {
		traits := v.(map[string]any) // checked by eventSchema
		if !exactNames(traits, traitsNames, traitsOtherNames) {
			return Event{}, false
		}
		ev.Traits = &Traits{}
		if v, ok := traits["phones"]; ok {
			phones := v.(map[string]any)
			ev.Traits.Phones = make(map[string]Phone, len(phones))
			for number, v := range phones {
				entry := v.(map[string]any)
				if !exactNames(entry, phoneNames, phoneOtherNames) {
					return Event{}, false
				}
				var p Phone
				p.Label, _ = entry["label"].(string)
				if b, ok := entry["isPrimary"].(bool); ok {
					p.IsPrimary = &b
				}
				ev.Traits.Phones[number] = p
			}
		}
	}
	return ev, true
}

// exactNames reports that every member of obj is either the exact name of
// one of filled or reaches none of filled and others through
// encoding/json's case-insensitive matching. Non-ASCII names are refused,
// as Unicode folding maps some of them onto ASCII letters.
func exactNames(obj map[string]any, filled, others []string) bool {
	for key := range obj {
		if slices.Contains(filled, key) {
			continue
		}
		for i := 0; i < len(key); i++ {
			if key[i] >= 0x80 {
				return false
			}
		}
		if slices.ContainsFunc(filled, func(f string) bool { return strings.EqualFold(key, f) }) ||
			slices.ContainsFunc(others, func(f string) bool { return strings.EqualFold(key, f) }) {
			return false
		}
	}
	return true
}
