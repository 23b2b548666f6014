package sapi

import (
	"fmt"
	"strings"
)

// Format is the SAPI desiredOutputType. It decides how the Framer finds the
// end of an event.
type Format int

const (
	// FormatNewlineJSON is one JSON object per line; the recommended format.
	FormatNewlineJSON Format = iota + 1
	// FormatJSON is JSON objects concatenated without a separator.
	FormatJSON
	// FormatXML is one XML root element per event, concatenated.
	FormatXML
	// FormatNewlineXML is FormatXML with a newline after each event.
	FormatNewlineXML
)

var formatNames = map[Format]string{
	FormatNewlineJSON: "NEWLINE_JSON",
	FormatJSON:        "JSON",
	FormatXML:         "XML",
	FormatNewlineXML:  "NEWLINE_XML",
}

// String returns the desiredOutputType value SAPI expects, e.g. "NEWLINE_JSON".
func (f Format) String() string {
	if name, ok := formatNames[f]; ok {
		return name
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// IsXML reports whether events are XML elements rather than JSON objects.
func (f Format) IsXML() bool { return f == FormatXML || f == FormatNewlineXML }

// ParseFormat reads a desiredOutputType value, case-insensitively, as 8x8
// itself does.
func ParseFormat(s string) (Format, error) {
	for f, name := range formatNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("sapi: unknown output format %q (want NEWLINE_JSON, JSON, XML or NEWLINE_XML)", s)
}

// MarshalText lets configuration encoders write the format by name.
func (f Format) MarshalText() ([]byte, error) {
	if _, ok := formatNames[f]; !ok {
		return nil, fmt.Errorf("sapi: invalid output format %d", int(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText lets configuration decoders read the format by name.
func (f *Format) UnmarshalText(b []byte) error {
	parsed, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = parsed
	return nil
}
