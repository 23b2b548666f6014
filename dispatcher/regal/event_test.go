package regal_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
)

func TestFormatTimestamp_is_utc_in_regal_layout(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{name: "utc", in: time.Date(2024, 8, 26, 15, 18, 3, 0, time.UTC), want: "2024-08-26 15:18:03 +00:00"},
		{name: "offset_converted_to_utc", in: time.Date(2000, 8, 20, 9, 12, 28, 0, time.FixedZone("", -4*3600)), want: "2000-08-20 13:12:28 +00:00"},
		{name: "sub_seconds_dropped", in: time.Date(2024, 1, 2, 3, 4, 5, 999_999_999, time.UTC), want: "2024-01-02 03:04:05 +00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := regal.FormatTimestamp(tt.in); got != tt.want {
				t.Errorf("FormatTimestamp = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEvent_JSON_shape(t *testing.T) {
	primary := true
	tests := []struct {
		name string
		ev   regal.Event
		want string
	}{
		{
			name: "phones_keyed_by_number_with_empty_object",
			ev: regal.Event{
				Traits:      &regal.Traits{Phones: map[string]regal.PhoneTrait{"+15515557212": {}}},
				Name:        "Interaction Created",
				Properties:  map[string]any{"campaign_id": int64(61)},
				EventSource: "8x8", OriginalTimestamp: "2024-08-26 15:18:03 +00:00",
			},
			want: `{"traits":{"phones":{"+15515557212":{}}},"name":"Interaction Created","properties":{"campaign_id":61},"eventSource":"8x8","originalTimestamp":"2024-08-26 15:18:03 +00:00"}`,
		},
		{
			name: "label_and_primary_when_set",
			ev:   regal.Event{Traits: &regal.Traits{Phones: map[string]regal.PhoneTrait{"+15515557212": {Label: "Mobile", IsPrimary: &primary}}}},
			want: `{"traits":{"phones":{"+15515557212":{"label":"Mobile","isPrimary":true}}},"name":""}`,
		},
		{
			name: "user_id_when_set",
			ev:   regal.Event{UserID: "xyz", Name: "Student Enrolled"},
			want: `{"userId":"xyz","name":"Student Enrolled"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("JSON = %s\nwant   %s", got, tt.want)
			}
		})
	}
}
