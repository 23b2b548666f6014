package sapidouble

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
)

// xmlDeclaration is the declaration 8x8's published XML sample starts with,
// single quotes and double space included.
const xmlDeclaration = "<?xml version='1.0'  encoding='UTF-8' ?>"

// jsonToXML renders a JSON event as SAPI's XML: the root key becomes the
// root element, members become child elements in order, an array becomes
// the element repeated (attachedDatum), scalars become text.
func jsonToXML(event []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber()
	var out bytes.Buffer
	out.WriteString(xmlDeclaration)
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotSAPIEvent
	}
	if err := writeMembers(d, &out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// writeMembers writes the members of the object just opened, up to its '}'.
func writeMembers(d *json.Decoder, out *bytes.Buffer) error {
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return err
		}
		if err := writeElement(d, out, xmlName(key.(string))); err != nil {
			return err
		}
	}
	_, err := d.Token() // '}'
	return err
}

// writeElement writes the next JSON value as element(s) called name.
func writeElement(d *json.Decoder, out *bytes.Buffer, name string) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			for d.More() {
				if err := writeElement(d, out, name); err != nil {
					return err
				}
			}
			_, err := d.Token() // ']'
			return err
		}
		out.WriteString("<" + name + ">")
		if err := writeMembers(d, out); err != nil {
			return err
		}
		out.WriteString("</" + name + ">")
		return nil
	case nil:
		out.WriteString("<" + name + "/>")
		return nil
	default:
		out.WriteString("<" + name + ">")
		if err := xml.EscapeText(out, []byte(scalarText(v))); err != nil {
			return err
		}
		out.WriteString("</" + name + ">")
		return nil
	}
}

func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

// xmlName makes a JSON key a valid XML element name; SAPI's keys already
// are, but a test may publish any JSON.
func xmlName(key string) string {
	if key == "" {
		return "_"
	}
	var b strings.Builder
	for i, r := range key {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f ||
			i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9')
		if !ok {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}
