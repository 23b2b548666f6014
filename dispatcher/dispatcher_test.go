package dispatcher

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/dispatcher/regal"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFailureReasonsCarryNoPhoneInClear(t *testing.T) {
	ev := &eventv1.Event{Interaction: &eventv1.InteractionFields{CustomerPhone: "5515557212"}}
	re := &regal.Event{Traits: &regal.Traits{Phones: map[string]regal.PhoneTrait{"+15515557212": {}}}}
	tests := []struct {
		name string
		text string
	}{
		{"e164_echoed", `regal: HTTP 400 Bad Request: {"traits":{"phones":{"+15515557212":{}}}}`},
		{"digits_with_country_code", "regal: HTTP 422: bad number 15515557212"},
		{"national_digits", "regal: HTTP 422: bad number 5515557212"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutPhones(tt.text, ev, re)
			if strings.Contains(got, "5515557212") {
				t.Fatalf("phone in clear: %s", got)
			}
			if !strings.HasPrefix(got, "regal: HTTP") {
				t.Fatalf("reason lost: %s", got)
			}
		})
	}
	if got := withoutPhones("regal: HTTP 503", nil, nil); got != "regal: HTTP 503" {
		t.Fatalf("reason changed without phones: %s", got)
	}
}
