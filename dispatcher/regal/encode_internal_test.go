package regal

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// trickyStrings exercise every escaping rule of encoding/json.
var trickyStrings = []string{
	"",
	"plain ascii",
	`quote " and backslash \`,
	"<script>&amp;</script>",
	"controls \x00\x01\x1f\x7f \b\f\n\r\t",
	"unicode é 日本 🙂",
	"separators \u2028 \u2029",
	"invalid utf-8 \xff\xfe and truncated \xe6\x97",
	"\xed\xa0\x80 surrogate half",
	"+15515557212",
}

func TestEncodeEvent_matches_json_Marshal(t *testing.T) {
	primary, notPrimary := true, false
	type custom struct {
		A int    `json:"a"`
		B string `json:"b,omitempty"`
	}
	tests := []struct {
		name string
		ev   *Event
	}{
		{name: "nil_event", ev: nil},
		{name: "zero_event", ev: &Event{}},
		{name: "translated_event", ev: &Event{
			Traits: &Traits{Phones: map[string]PhoneTrait{"+15515557212": {}}},
			Name:   "Interaction Deassigned",
			Properties: map[string]any{
				"interaction_id": "int-1918f43ff2b-3AGMeob4DFLnS6Ubya5YMycm3-phone-01-regalvoice2demo01",
				"campaign_id":    int64(61), "campaign_name": "Form Submission - High Net Worth: 3 Attempts",
				"queue_id": int64(110), "queue_time": int64(1724685483), "disposition_code": int64(1000),
				"disposition": "None", "agent_id": "agyQDfU5k6SMKy8bv8vOXTGg", "media_type": "phone",
				"interaction_direction": "out", "interaction_type": "campaign",
				"queue_name": "New Form - High Net Worth",
			},
			EventSource: "8x8", OriginalTimestamp: "2024-08-26 15:19:00 +00:00",
		}},
		{name: "user_id_only", ev: &Event{UserID: "xyz", Name: "Student Enrolled"}},
		{name: "empty_traits", ev: &Event{Traits: &Traits{}, Name: "n"}},
		{name: "empty_phones_map", ev: &Event{Traits: &Traits{Phones: map[string]PhoneTrait{}}, Name: "n"}},
		{name: "empty_properties_map_is_omitted", ev: &Event{Name: "n", Properties: map[string]any{}}},
		{name: "phones_sorted_with_label_and_primary", ev: &Event{Traits: &Traits{Phones: map[string]PhoneTrait{
			"+447400123456": {Label: "Work"},
			"+15515557212":  {Label: "Mobile", IsPrimary: &primary},
			"+12125550189":  {IsPrimary: &notPrimary},
			"+33123456789":  {},
		}}}},
		{name: "many_properties_sorted", ev: &Event{Name: "n", Properties: func() map[string]any {
			m := map[string]any{}
			for _, k := range strings.Fields("z y x w v u t s r q p o n m l k j i h g f e d c b a A Z _ é 0 10 9") {
				m[k] = k
			}
			return m
		}()}},
		{name: "value_types_encoded_directly", ev: &Event{Name: "n", Properties: map[string]any{
			"i64": int64(math.MinInt64), "i64max": int64(math.MaxInt64), "int": -42, "zero": int64(0),
			"true": true, "false": false, "null": nil,
		}}},
		{name: "value_types_handed_to_json_Marshal", ev: &Event{Name: "n", Properties: map[string]any{
			"float": 1.5, "big_float": 1e21, "small_float": 1e-7, "float32": float32(0.1), "uint": uint64(math.MaxUint64),
			"int32": int32(-7), "number": json.Number("61"), "time": time.Date(2024, 8, 26, 15, 18, 3, 0, time.UTC),
			"slice": []any{"<a>", int64(1), nil}, "map": map[string]any{"b": 1, "a": "&"}, "struct": custom{A: 1},
			"raw": json.RawMessage(`{"x": [1, 2]}`), "bytes": []byte("hi"), "nil_map": map[string]int(nil),
			"pointer": &primary,
		}}},
	}
	for i, s := range trickyStrings {
		tests = append(tests, struct {
			name string
			ev   *Event
		}{name: "tricky_string_" + string(rune('a'+i)), ev: eventWithStrings(s)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeEvent(tt.ev)
			if err != nil {
				t.Fatalf("encodeEvent: %v", err)
			}
			if string(got) != string(want) {
				t.Errorf("encodeEvent\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestEncodeEvent_fails_like_json_Marshal(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{name: "nan", value: math.NaN()},
		{name: "infinity", value: math.Inf(1)},
		{name: "channel", value: make(chan int)},
		{name: "function", value: func() {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &Event{Name: "n", Properties: map[string]any{"a": "ok", "bad": tt.value}}
			_, want := json.Marshal(ev)
			got, err := encodeEvent(ev)
			if err == nil || want == nil || err.Error() != want.Error() {
				t.Fatalf("encodeEvent = %s, %v; json.Marshal fails with %v", got, err, want)
			}
		})
	}
}

func TestEncodeEvent_buffer_reuse_does_not_change_returned_bodies(t *testing.T) {
	first, err := encodeEvent(eventWithStrings("first"))
	if err != nil {
		t.Fatal(err)
	}
	keep := string(first)
	for range 10 {
		if _, err := encodeEvent(eventWithStrings(strings.Repeat("x", 2000))); err != nil {
			t.Fatal(err)
		}
	}
	if string(first) != keep {
		t.Fatalf("body changed after later encodes: %s", first)
	}
}

// eventWithStrings puts s in every string field, map key included.
func eventWithStrings(s string) *Event {
	return &Event{
		UserID:            s,
		Traits:            &Traits{Phones: map[string]PhoneTrait{s: {Label: s}, s + "2": {}}},
		Name:              s,
		Properties:        map[string]any{s: s, "k" + s: int64(len(s))},
		EventSource:       s,
		OriginalTimestamp: s,
	}
}

func FuzzEncodeEvent(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, key, value string, n int64) {
		ev := eventWithStrings(value)
		ev.Properties[key] = n
		ev.Properties[value+key] = value
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeEvent(ev)
		if err != nil || string(got) != string(want) {
			t.Fatalf("encodeEvent = %s, %v\nwant %s", got, err, want)
		}
	})
}
