// Package phone reads customer phone numbers into E.164 with
// libphonenumber, the way the dispatchers send them to Regal and the
// collector's timeline indexes them: one reading for both services.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is matched (errors.Is) by every Parse and Normalize error.
// The errors never contain the number.
var ErrInvalid = errors.New("phone: invalid phone number")

// Verdict says how far libphonenumber vouches for a number that Parse
// accepted. Its values are fit for a metric label.
type Verdict string

const (
	// Valid: libphonenumber's metadata lists the number's range.
	Valid Verdict = "valid"
	// Unverified: the number has a possible length for its country,
	// but its range is not in libphonenumber's metadata: a range
	// allocated after the library's release, one the metadata leaves out
	// (e.g. +1 473 555 8383), or one not in service. The dispatchers send
	// it all the same, because only the carrier can tell; dropping it
	// would lose a real contact's events.
	Unverified Verdict = "unverified"
)

// Number is a customer number in E.164 with libphonenumber's verdict.
type Number struct {
	// E164 is the number in E.164, e.g. "+15515557212".
	E164 string
	// Verdict is Valid or Unverified.
	Verdict Verdict
}

// Parse returns raw in E.164 ("+15515557212") with a verdict. A
// number without a country code is read as a number of defaultRegion, so
// with "US" the inputs "+15515557212", "15515557212", "5515557212" and
// "(551) 555-7212" all give "+15515557212"; an extension is dropped.
//
// Every number whose length is possible for its country is accepted:
// Valid when libphonenumber knows its range, Unverified otherwise.
// What cannot name a number at all is an error matching ErrInvalid that
// says why in words: not a number, an unknown country
// code, too short or too long for its country, or a local number without
// its area code (its E.164 form would be wrong). It is safe for
// concurrent use.
func Parse(raw, defaultRegion string) (Number, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Number{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	number, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		// libphonenumber's parse errors are fixed texts without the input.
		return Number{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// IsPossibleNumber would also accept IS_POSSIBLE_LOCAL_ONLY (a number
	// dialable only within its area), whose E.164 form would be wrong.
	if possible := phonenumbers.IsPossibleNumberWithReason(number); possible != phonenumbers.IS_POSSIBLE {
		return Number{}, fmt.Errorf("%w: %s", ErrInvalid, impossibleReason(possible))
	}
	p := Number{E164: phonenumbers.Format(number, phonenumbers.E164), Verdict: Unverified}
	if phonenumbers.IsValidNumber(number) {
		p.Verdict = Valid
	}
	return p, nil
}

// Normalize is Parse's E.164 form, for callers that need no verdict (the
// timeline indexes valid and unverified numbers alike, as Regal receives
// them).
func Normalize(raw, defaultRegion string) (string, error) {
	p, err := Parse(raw, defaultRegion)
	return p.E164, err
}

// impossibleReason says in words why libphonenumber finds a number not
// possible.
func impossibleReason(r phonenumbers.ValidationResult) string {
	switch r {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "unknown country code"
	case phonenumbers.TOO_SHORT:
		return "too short for its country"
	case phonenumbers.TOO_LONG:
		return "too long for its country"
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "a local number without its area code"
	default:
		return "a length its country does not use"
	}
}
