package sapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlValue is an element as parseXML reads it, before it is laid out as
// document nodes: a repeated child only turns into an array once its
// second occurrence is seen.
type xmlValue struct {
	kind    valueKind // kindString (a leaf), kindObject or kindArray
	text    string
	members []xmlMember
	items   []xmlValue
}

type xmlMember struct {
	key string
	val xmlValue
}

// parseXML parses one XML event (a root element, optionally preceded by a
// declaration) with an xml.Decoder token loop into d, laid out as JSON
// would be: node 0 the document, node 1 the event object keyed by the root
// element name. It maps the document onto the JSON shape SAPI's JSON output
// is converted from: an element with child elements is an object, a
// repeated child (attachedDatum) is an array, and a leaf is a string.
// Attributes are ignored: SAPI's XML carries none.
func (d *document) parseXML(data []byte) error {
	d.reset(data)
	root, body, err := parseXMLTree(data)
	if err != nil {
		return err
	}
	d.nodes = append(d.nodes, node{kind: kindObject})
	d.appendXML(&body, root)
	d.nodes[0].end = len(d.nodes)
	return nil
}

// appendXML lays out v and its descendants as nodes, v keyed by key.
func (d *document) appendXML(v *xmlValue, key string) {
	i := len(d.nodes)
	d.nodes = append(d.nodes, node{kind: v.kind, key: d.keep([]byte(key))})
	switch v.kind {
	case kindObject:
		for j := range v.members {
			d.appendXML(&v.members[j].val, v.members[j].key)
		}
	case kindArray:
		for j := range v.items {
			d.appendXML(&v.items[j], "")
		}
	default:
		d.nodes[i].text = d.keep([]byte(v.text))
	}
	d.nodes[i].end = len(d.nodes)
}

// parseXMLTree reads the root element name and content.
func parseXMLTree(data []byte) (root string, body xmlValue, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", xmlValue{}, errors.New("no root element")
			}
			return "", xmlValue{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			body, err := xmlElement(d, 1)
			if err != nil {
				return "", xmlValue{}, err
			}
			if err := xmlTrailer(d); err != nil {
				return "", xmlValue{}, err
			}
			switch {
			case body.kind == kindString && body.text == "":
				body = xmlValue{kind: kindObject}
			case body.kind != kindObject:
				return "", xmlValue{}, errors.New("root element holds text, not fields")
			}
			return t.Name.Local, body, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return "", xmlValue{}, errors.New("text before the root element")
			}
		}
	}
}

// xmlElement reads the content of an element whose start tag was just read.
func xmlElement(d *xml.Decoder, depth int) (xmlValue, error) {
	if depth > maxNesting {
		return xmlValue{}, errors.New("nesting too deep")
	}
	var text strings.Builder
	var members []xmlMember
	for {
		tok, err := d.Token()
		if err != nil {
			return xmlValue{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			child, err := xmlElement(d, depth+1)
			if err != nil {
				return xmlValue{}, err
			}
			members = addXMLChild(members, t.Name.Local, child)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if members != nil {
				return xmlValue{kind: kindObject, members: members}, nil
			}
			return xmlValue{kind: kindString, text: strings.ToValidUTF8(strings.TrimSpace(text.String()), "\uFFFD")}, nil
		}
	}
}

// addXMLChild adds a child element; a name seen before turns into an array,
// which is how a repeated element appears in SAPI's JSON.
func addXMLChild(members []xmlMember, name string, child xmlValue) []xmlMember {
	for i := range members {
		if members[i].key != name {
			continue
		}
		if members[i].val.kind != kindArray {
			members[i].val = xmlValue{kind: kindArray, items: []xmlValue{members[i].val}}
		}
		members[i].val.items = append(members[i].val.items, child)
		return members
	}
	return append(members, xmlMember{key: name, val: child})
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
