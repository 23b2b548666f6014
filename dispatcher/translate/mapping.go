// Package translate turns normalized 8x8 SAPI events into Regal custom
// events: it picks the Regal event name from a configurable mapping,
// identifies the contact by the customer's phone in E.164, and copies the
// interaction fields into snake_case properties with stable JSON types.
package translate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"gopkg.in/yaml.v3"
)

// Defaults applied to empty Mapping fields.
const (
	DefaultEventSource = "8x8"
	DefaultRegion      = "US"
)

// Mapping says which SAPI events are sent to Regal and under which names.
// Events whose type is not listed are not sent. Operators set it in YAML
// (see testdata/mapping.yaml); empty EventSource and DefaultRegion take
// DefaultEventSource and DefaultRegion.
type Mapping struct {
	// Events maps SAPI event types to Regal event names; events of a type
	// not listed are not sent. A list given replaces the default table
	// (docs/mapping.md) entirely.
	Events []EventMapping `yaml:"events"`
	// EventSource is sent to Regal as eventSource.
	EventSource string `yaml:"event_source"`
	// DefaultRegion is the ISO 3166-1 region (e.g. "US") assumed for phone
	// numbers received without a country code.
	DefaultRegion string `yaml:"default_region"`
	// DispositionNames adds a readable "disposition" property next to a
	// documented numeric disposition_code (1000 "None", 1001 "Try Again",
	// 1002 "Schedule Callback", 2001 "Do Not Call"). On when unset; set it
	// to false to send exactly the property set of Regal's 8x8 examples.
	DispositionNames *bool `yaml:"disposition_names"`
}

// EventMapping maps one SAPI event type to a Regal event name.
type EventMapping struct {
	// Source is the SAPI event type, e.g. "InteractionCreated"; it is
	// matched exactly.
	Source string `yaml:"source"`
	// Name is the Regal event name, e.g. "Interaction Created". Regal
	// event names are case-sensitive.
	Name string `yaml:"name"`
}

// DefaultMapping returns the event names of Regal's 8x8 integration.
func DefaultMapping() Mapping {
	return Mapping{
		Events: []EventMapping{
			{Source: "InteractionCreated", Name: "Interaction Created"},
			{Source: "InteractionQueued", Name: "Interaction Queued"},
			{Source: "InteractionAssigned", Name: "Interaction Assigned"},
			{Source: "InteractionDeassigned", Name: "Interaction Deassigned"},
			{Source: "InteractionAccepted", Name: "Interaction Accepted"},
			{Source: "InteractionCustomerAccepted", Name: "Interaction Customer Accepted"},
			{Source: "InteractionParticipantChange", Name: "Interaction Participant Change"},
			{Source: "InteractionPostProcess", Name: "Interaction Post Process"},
			{Source: "InteractionDeleted", Name: "Interaction Deleted"},
		},
		EventSource:      DefaultEventSource,
		DefaultRegion:    DefaultRegion,
		DispositionNames: ptr(true),
	}
}

func ptr[T any](v T) *T { return &v }

// ParseMapping reads a mapping from YAML, rejecting unknown keys, fills
// in defaults and validates it.
func ParseMapping(data []byte) (Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return Mapping{}, errors.New("translate: mapping: document is empty")
		}
		return Mapping{}, fmt.Errorf("translate: mapping: %w", err)
	}
	m = m.withDefaults()
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// withDefaults returns m with empty EventSource and DefaultRegion set.
func (m Mapping) withDefaults() Mapping {
	if m.EventSource == "" {
		m.EventSource = DefaultEventSource
	}
	if m.DefaultRegion == "" {
		m.DefaultRegion = DefaultRegion
	}
	if m.DispositionNames == nil {
		m.DispositionNames = ptr(true)
	}
	return m
}

// Validate reports every problem of m: no events, an empty or padded
// source or name, a source mapped twice, a blank event source, or a
// default region that libphonenumber does not know. Empty EventSource and
// DefaultRegion are valid (they take the defaults).
func (m *Mapping) Validate() error {
	var errs []error
	if len(m.Events) == 0 {
		errs = append(errs, errors.New("translate: mapping: events is empty, so no event would be sent"))
	}
	seen := make(map[string]int, len(m.Events))
	for i, e := range m.Events {
		errs = append(errs, checkText(fmt.Sprintf("events[%d].source", i), e.Source))
		errs = append(errs, checkText(fmt.Sprintf("events[%d].name", i), e.Name))
		if first, dup := seen[e.Source]; dup && e.Source != "" {
			errs = append(errs, fmt.Errorf("translate: mapping: events[%d].source %q is already mapped by events[%d]", i, e.Source, first))
		} else {
			seen[e.Source] = i
		}
	}
	if m.EventSource != "" {
		errs = append(errs, checkText("event_source", m.EventSource))
	}
	if m.DefaultRegion != "" && !phonenumbers.GetSupportedRegions()[m.DefaultRegion] {
		errs = append(errs, fmt.Errorf("translate: mapping: default_region %q is not a supported region code (use an upper-case ISO 3166-1 code such as %q)", m.DefaultRegion, DefaultRegion))
	}
	return errors.Join(errs...)
}

// checkText rejects an empty value or one with surrounding whitespace.
func checkText(field, value string) error {
	switch {
	case strings.TrimSpace(value) == "":
		return fmt.Errorf("translate: mapping: %s is empty", field)
	case strings.TrimSpace(value) != value:
		return fmt.Errorf("translate: mapping: %s %q has leading or trailing spaces", field, value)
	}
	return nil
}
