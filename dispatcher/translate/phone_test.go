package translate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ccbridge/bridge/dispatcher/translate"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   string
	}{
		{name: "e164_stays_e164", raw: "+15515557212", region: "US", want: "+15515557212"},
		{name: "ten_digits_get_the_default_country", raw: "5515557212", region: "US", want: "+15515557212"},
		{name: "national_prefix_one_is_dropped", raw: "15515557212", region: "US", want: "+15515557212"},
		{name: "formatted_national_number", raw: "(551) 555-7212", region: "US", want: "+15515557212"},
		{name: "surrounding_spaces_are_ignored", raw: " 5515557212\n", region: "US", want: "+15515557212"},
		{name: "plus_number_ignores_the_default_region", raw: "+447400123456", region: "US", want: "+447400123456"},
		{name: "national_number_in_another_default_region", raw: "07400 123456", region: "GB", want: "+447400123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := translate.NormalizePhone(tt.raw, tt.region)
			if err != nil || got != tt.want {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
			}
		})
	}
}

func TestNormalizePhone_rejects_invalid_numbers(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
	}{
		{name: "empty", raw: "", region: "US"},
		{name: "blank", raw: "   ", region: "US"},
		{name: "letters", raw: "anonymous", region: "US"},
		{name: "too_short", raw: "5557212", region: "US"},
		{name: "too_long", raw: "55155572125515557212", region: "US"},
		{name: "unassigned_area_code", raw: "1115557212", region: "US"},
		{name: "us_number_read_in_another_region", raw: "5515557212", region: "FR"},
		{name: "unknown_region", raw: "5515557212", region: "ZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := translate.NormalizePhone(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("NormalizePhone(%q, %q) = %q, want an error", tt.raw, tt.region, got)
			}
			if !errors.Is(err, translate.ErrInvalidPhone) {
				t.Errorf("error %v does not match ErrInvalidPhone", err)
			}
			if digits := strings.TrimSpace(tt.raw); digits != "" && strings.Contains(err.Error(), digits) {
				t.Errorf("error %q contains the number", err)
			}
		})
	}
}
