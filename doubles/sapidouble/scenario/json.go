package scenario

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// fields are the members of an event object. encoding/json writes map keys
// sorted, which is also how 8x8 orders them.
type fields map[string]any

// datum is one attachedData entry; the value keeps its JSON type.
type datum struct {
	key   string
	value any
}

// encode writes {"<root>":{...}} on one line, without HTML escaping.
func encode(root string, f fields) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{root: map[string]any(f)}); err != nil {
		panic("scenario: event does not encode: " + err.Error()) // only plain values are used
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// attached builds attachedData with its entries sorted by key, as in 8x8's
// samples.
func attached(data ...datum) map[string]any {
	sorted := slices.Clone(data)
	slices.SortFunc(sorted, func(a, b datum) int { return strings.Compare(a.key, b.key) })
	list := make([]map[string]any, len(sorted))
	for i, d := range sorted {
		list[i] = map[string]any{"attachedDataKey": d.key, "attachedDataValue": d.value}
	}
	return map[string]any{"attachedDatum": list}
}

// with returns a copy of base with extra added.
func with(base fields, extra fields) fields {
	out := make(fields, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}
