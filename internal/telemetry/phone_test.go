package telemetry

import (
	"regexp"
	"strings"
	"testing"
)

func TestMaskPhone(t *testing.T) {
	tests := []struct {
		name  string
		phone string
		want  string
	}{
		{name: "north_american_number", phone: "+15551234567", want: "+1********67"},
		{name: "other_country_keeps_only_plus", phone: "+442079460958", want: "+**********58"},
		{name: "short_number_masked_whole", phone: "+1555123", want: "+1******"},
		{name: "no_plus_masked_from_start", phone: "5551234567", want: "********67"},
		{name: "empty_stays_empty", phone: "", want: ""},
		{name: "prefix_alone", phone: "+1", want: "+1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskPhone(tt.phone)
			if got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.phone, got, tt.want)
			}
			if len(tt.phone) > 2 && strings.Contains(got, tt.phone[2:]) {
				t.Errorf("MaskPhone(%q) = %q reveals the number", tt.phone, got)
			}
		})
	}
}

func TestHashPhone(t *testing.T) {
	const phone, salt = "+15551234567", "deployment-secret"
	hash := HashPhone(phone, salt)

	tests := []struct {
		name     string
		phone    string
		salt     string
		wantSame bool
	}{
		{name: "same_phone_and_salt_same_hash", phone: phone, salt: salt, wantSame: true},
		{name: "other_phone_other_hash", phone: "+15551234568", salt: salt, wantSame: false},
		{name: "other_salt_other_hash", phone: phone, salt: "another-secret", wantSame: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HashPhone(tt.phone, tt.salt)
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
				t.Fatalf("HashPhone = %q, want 16 lowercase hex characters", got)
			}
			if strings.Contains(got, "5551234567") {
				t.Fatalf("HashPhone = %q reveals the number", got)
			}
			if same := got == hash; same != tt.wantSame {
				t.Errorf("HashPhone(%q, %q) = %q; equal to %q is %v, want %v", tt.phone, tt.salt, got, hash, same, tt.wantSame)
			}
		})
	}
}
