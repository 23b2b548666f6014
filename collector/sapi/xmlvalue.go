package sapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseXML parses one XML event (a root element, optionally preceded by a
// declaration) with an xml.Decoder token loop. It maps the document onto
// the JSON shape SAPI's JSON output is converted from: the root element name
// is the root key, an element with child elements is an object, a repeated
// child (attachedDatum) is an array, and a leaf is a string. Attributes are
// ignored: SAPI's XML carries none.
func parseXML(data []byte) (root string, body value, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", value{}, errors.New("no root element")
			}
			return "", value{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			body, err := xmlElement(d, 1)
			if err != nil {
				return "", value{}, err
			}
			if err := xmlTrailer(d); err != nil {
				return "", value{}, err
			}
			switch {
			case body.kind == kindString && body.text == "":
				body = value{kind: kindObject}
			case body.kind != kindObject:
				return "", value{}, errors.New("root element holds text, not fields")
			}
			return t.Name.Local, body, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return "", value{}, errors.New("text before the root element")
			}
		}
	}
}

// xmlElement reads the content of an element whose start tag was just read.
func xmlElement(d *xml.Decoder, depth int) (value, error) {
	if depth > maxNesting {
		return value{}, errors.New("nesting too deep")
	}
	var text strings.Builder
	var members []member
	for {
		tok, err := d.Token()
		if err != nil {
			return value{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			child, err := xmlElement(d, depth+1)
			if err != nil {
				return value{}, err
			}
			members = addXMLChild(members, t.Name.Local, child)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if members != nil {
				return value{kind: kindObject, members: members}, nil
			}
			return value{kind: kindString, text: validUTF8([]byte(strings.TrimSpace(text.String())))}, nil
		}
	}
}

// addXMLChild adds a child element; a name seen before turns into an array,
// which is how a repeated element appears in SAPI's JSON.
func addXMLChild(members []member, name string, child value) []member {
	for i := range members {
		if members[i].key != name {
			continue
		}
		if members[i].val.kind != kindArray {
			members[i].val = value{kind: kindArray, items: []value{members[i].val}}
		}
		members[i].val.items = append(members[i].val.items, child)
		return members
	}
	return append(members, member{key: name, val: child})
}

// xmlTrailer checks that only whitespace, comments and processing
// instructions follow the root element.
func xmlTrailer(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("second root element <%s>", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the root element")
			}
		}
	}
}
