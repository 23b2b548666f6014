package translate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidPhone is matched (errors.Is) by every NormalizePhone error.
// The errors never contain the number.
var ErrInvalidPhone = errors.New("translate: invalid phone number")

// NormalizePhone returns raw in E.164 ("+15515557212"). A number without a
// country code is read as a number of defaultRegion, so with "US" the
// inputs "+15515557212", "15515557212", "5515557212" and "(551) 555-7212"
// all give "+15515557212". A number libphonenumber does not consider valid
// is an error. It is safe for concurrent use.
func NormalizePhone(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	}
	number, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		// libphonenumber's parse errors are fixed texts without the input.
		return "", fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	if !phonenumbers.IsValidNumber(number) {
		return "", fmt.Errorf("%w: not a valid number", ErrInvalidPhone)
	}
	return phonenumbers.Format(number, phonenumbers.E164), nil
}
