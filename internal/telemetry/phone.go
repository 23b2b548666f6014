package telemetry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// phoneKeptSuffix is how many trailing digits MaskPhone leaves readable.
const phoneKeptSuffix = 2

// phoneMinMaskedChars is the fewest characters MaskPhone hides: shorter
// inputs are masked whole rather than left nearly readable.
const phoneMinMaskedChars = 6

// phoneHashBytes is how many bytes of the HMAC HashPhone keeps (64 bits,
// 16 hex characters): plenty to tell contacts apart in a search.
const phoneHashBytes = 8

// MaskPhone returns an E.164 number with its "+1" country code prefix (or
// only its "+" for other countries, whose code length varies) and its last 2
// characters kept and every other character replaced by '*', so its length
// is kept: "+15551234567" → "+1********67". Inputs too short to hide at least
// 6 characters are masked whole. It never returns the number in clear, even
// for malformed input; "" stays "".
func MaskPhone(e164 string) string {
	prefix := ""
	switch {
	case strings.HasPrefix(e164, "+1"):
		prefix = "+1"
	case strings.HasPrefix(e164, "+"):
		prefix = "+"
	}
	rest := []rune(e164[len(prefix):])
	kept := 0
	if len(rest)-phoneKeptSuffix >= phoneMinMaskedChars {
		kept = phoneKeptSuffix
	}
	masked := strings.Repeat("*", len(rest)-kept) + string(rest[len(rest)-kept:])
	return prefix + masked
}

// HashPhone returns the first 16 hex characters of HMAC-SHA256(salt, e164):
// the same number and salt always give the same hash, and without the salt
// the number cannot be recovered by trying every possible number. salt is a
// secret of the deployment shared by all services (so hashes match across
// them); pass the number in its canonical E.164 form so that one contact has
// one hash.
func HashPhone(e164, salt string) string {
	mac := hmac.New(sha256.New, []byte(salt))
	mac.Write([]byte(e164))
	return hex.EncodeToString(mac.Sum(nil)[:phoneHashBytes])
}
