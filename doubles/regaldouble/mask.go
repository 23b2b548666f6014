package regaldouble

import (
	"maps"
	"slices"
	"strings"
)

// maskPhone hides all but the last two digits of a phone number, keeping
// a leading "+": "+15515557212" becomes "+*********12".
func maskPhone(phone string) string {
	runes := []rune(phone)
	kept := 0
	for i := len(runes) - 1; i >= 0; i-- {
		isDigit := runes[i] >= '0' && runes[i] <= '9'
		switch {
		case isDigit && kept < 2:
			kept++
		case i == 0 && runes[i] == '+':
		default:
			runes[i] = '*'
		}
	}
	return string(runes)
}

// maskedPhones lists the masked keys of a phones object, sorted.
func maskedPhones(phones map[string]Phone) string {
	masked := make([]string, 0, len(phones))
	for _, p := range slices.Sorted(maps.Keys(phones)) {
		masked = append(masked, maskPhone(p))
	}
	return strings.Join(masked, ",")
}
