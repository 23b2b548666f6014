package regaldouble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

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
	// fields are the documented members of an object.
	fields map[string]schema
	// entries, when set, is the schema of every member of an object keyed
	// by data (a phone number or an email address).
	entries *schema
	// entryName stands for such a key in error paths, as in the OpenAPI:
	// "{phone}", "{email}".
	entryName string
}

var (
	str     = schema{kind: kindString}
	boolean = schema{kind: kindBoolean}

	optInSchema = schema{kind: kindObject, fields: map[string]schema{
		"subscribed": boolean, "ip": str, "source": str, "text": str, "timestamp": str,
	}}
	phoneSchema = schema{kind: kindObject, fields: map[string]schema{
		"label": str, "isPrimary": boolean, "voiceOptIn": optInSchema, "smsOptIn": optInSchema,
	}}
	emailSchema = schema{kind: kindObject, fields: map[string]schema{
		"label": str, "isPrimary": boolean, "emailOptIn": optInSchema,
	}}
	eventSchema = schema{kind: kindObject, fields: map[string]schema{
		"userId":            str,
		"name":              str,
		"eventSource":       str,
		"originalTimestamp": str,
		"properties":        {kind: kindObject},
		"traits": {kind: kindObject, fields: map[string]schema{
			"firstName": str,
			"lastName":  str,
			"phones":    {kind: kindObject, entries: &phoneSchema, entryName: "{phone}"},
			"emails":    {kind: kindObject, entries: &emailSchema, entryName: "{email}"},
			"address": {kind: kindObject, fields: map[string]schema{
				"street": str, "city": str, "state": str, "zipcode": str, "country": str,
			}},
		}},
	}}
)

// check reports the first field, in a stable order, whose type differs
// from sc. Paths name phone and email entries by their entryName so that
// no contact data reaches an error message.
func (sc schema) check(path string, v any) error {
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
	for _, name := range slices.Sorted(maps.Keys(sc.fields)) {
		if fv, present := obj[name]; present {
			if err := sc.fields[name].check(path+"."+name, fv); err != nil {
				return err
			}
		}
	}
	if sc.entries != nil {
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			if err := sc.entries.check(path+"."+sc.entryName, obj[key]); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeEvent checks body against Regal's OpenAPI for POST /events and
// decodes it. The body must be one JSON object whose documented fields have
// their documented types, with a non-empty name or traits (or both).
func decodeEvent(body []byte) (regal.Event, error) {
	var doc any
	if err := decodeStrict(body, &doc); err != nil {
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
