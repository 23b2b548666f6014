package phone_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ccbridge/bridge/internal/phone"
)

func TestParse_accepts_every_possible_number(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		region  string
		want    string
		verdict phone.Verdict
	}{
		{name: "e164_stays_e164", raw: "+15515557212", region: "US", want: "+15515557212", verdict: phone.Valid},
		{name: "ten_digits_get_the_default_country", raw: "5515557212", region: "US", want: "+15515557212", verdict: phone.Valid},
		{name: "national_prefix_one_is_dropped", raw: "15515557212", region: "US", want: "+15515557212", verdict: phone.Valid},
		{name: "formatted_national_number", raw: "(551) 555-7212", region: "US", want: "+15515557212", verdict: phone.Valid},
		{name: "surrounding_spaces_are_ignored", raw: " 5515557212\n", region: "US", want: "+15515557212", verdict: phone.Valid},
		{name: "plus_number_ignores_the_default_region", raw: "+447400123456", region: "US", want: "+447400123456", verdict: phone.Valid},
		{name: "national_number_in_another_default_region", raw: "07400 123456", region: "GB", want: "+447400123456", verdict: phone.Valid},
		{name: "extension_is_dropped", raw: "+1 551 555 7212 ext 12", region: "US", want: "+15515557212", verdict: phone.Valid},
		// Possible lengths, but ranges libphonenumber's metadata does not list.
		{name: "grenada_555_exchange_is_unverified", raw: "+1 473 555 8383", region: "US", want: "+14735558383", verdict: phone.Unverified},
		{name: "nanp_number_without_country_code_is_unverified", raw: "473-555-8383", region: "US", want: "+14735558383", verdict: phone.Unverified},
		{name: "nanp_555_area_code_is_unverified", raw: "5555550100", region: "US", want: "+15555550100", verdict: phone.Unverified},
		{name: "us_exchange_starting_with_1_is_unverified", raw: "+1 212 155 0100", region: "US", want: "+12121550100", verdict: phone.Unverified},
		{name: "unassigned_area_code_is_unverified", raw: "1115557212", region: "US", want: "+11115557212", verdict: phone.Unverified},
		{name: "uk_drama_range_is_unverified", raw: "+44 1632 960000", region: "US", want: "+441632960000", verdict: phone.Unverified},
		{name: "uk_national_unlisted_range_is_unverified", raw: "01632 960000", region: "GB", want: "+441632960000", verdict: phone.Unverified},
		{name: "australian_unlisted_range_is_unverified", raw: "+61 5 5555 5555", region: "US", want: "+61555555555", verdict: phone.Unverified},
		{name: "german_unlisted_mobile_range_is_unverified", raw: "+49 15 00000000", region: "US", want: "+491500000000", verdict: phone.Unverified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := phone.Parse(tt.raw, tt.region)
			if err != nil || got.E164 != tt.want || got.Verdict != tt.verdict {
				t.Errorf("Parse(%q, %q) = %+v, %v; want {%s %s}", tt.raw, tt.region, got, err, tt.want, tt.verdict)
			}
			e164, err := phone.Normalize(tt.raw, tt.region)
			if err != nil || e164 != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q", tt.raw, tt.region, e164, err, tt.want)
			}
		})
	}
}

func TestParse_rejects_what_is_not_a_possible_number(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		region  string
		wantWhy string
	}{
		{name: "empty", raw: "", region: "US", wantWhy: "empty"},
		{name: "blank", raw: "   ", region: "US", wantWhy: "empty"},
		{name: "letters", raw: "anonymous", region: "US", wantWhy: "not a number"},
		{name: "local_number_without_area_code", raw: "5557212", region: "US", wantWhy: "local number without its area code"},
		{name: "too_short", raw: "55572", region: "US", wantWhy: "too short"},
		{name: "too_long", raw: "551555721255", region: "US", wantWhy: "too long"},
		{name: "far_too_long", raw: "55155572125515557212", region: "US", wantWhy: "too long"},
		{name: "us_number_read_in_another_region", raw: "5515557212", region: "FR", wantWhy: "too long"},
		{name: "uk_national_number_read_in_the_us", raw: "07400 123456", region: "US", wantWhy: "too long"},
		{name: "unknown_country_code", raw: "+999 1234567", region: "US", wantWhy: "country code"},
		{name: "unknown_region", raw: "5515557212", region: "ZZ", wantWhy: "country code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := phone.Parse(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %+v, want an error", tt.raw, tt.region, got)
			}
			if !errors.Is(err, phone.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantWhy) {
				t.Errorf("error %q does not say %q", err, tt.wantWhy)
			}
			if digits := strings.TrimSpace(tt.raw); digits != "" && strings.Contains(err.Error(), digits) {
				t.Errorf("error %q contains the number", err)
			}
			if e164, nerr := phone.Normalize(tt.raw, tt.region); nerr == nil || e164 != "" {
				t.Errorf("Normalize(%q, %q) = %q, %v; want the same error", tt.raw, tt.region, e164, nerr)
			}
		})
	}
}
