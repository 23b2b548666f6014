package jsonsyntax

import (
	"encoding/json"
	"testing"
)

// TestTokensMatchEncodingJSON checks each scanner on tokens standing alone,
// where encoding/json's Valid accepts exactly the well-formed ones.
func TestTokensMatchEncodingJSON(t *testing.T) {
	literal := func(b []byte) (int, bool) {
		end, _, ok := Literal(b, 0)
		return end, ok
	}
	str := func(b []byte) (int, bool) {
		end, _, _, ok := String(b, 0)
		return end, ok
	}
	number := func(b []byte) (int, bool) { return Number(b, 0) }
	cases := []struct {
		name   string
		scan   func([]byte) (int, bool)
		tokens []string
	}{
		{"strings", str, []string{
			`""`, `"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\uD83D\ude00"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\`,
			`"unterminated`, "\"\x01\"", "\"\x7f\"", "\"\xff\xfe\"", "\"\xe2\x80\xa8\"",
		}},
		{"numbers", number, []string{
			`0`, `-0`, `1`, `-12`, `0.5`, `1e5`, `1E-5`, `-1.5e+10`, `01`, `1.`, `.1`, `-`, `+1`, `1e`, `1e+`, `0x1`, `1.5.2`, `--1`,
		}},
		{"literals", literal, []string{`true`, `false`, `null`, `tru`, `nul`, `fals`, `True`, `x`, ``}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, token := range tc.tokens {
				end, ok := tc.scan([]byte(token))
				if got, want := ok && end == len(token), json.Valid([]byte(token)); got != want {
					t.Errorf("%q: scanned whole = %v (end %d, ok %v), json.Valid = %v", token, got, end, ok, want)
				}
			}
		})
	}
}

func TestStringReportsEscapesAndNonASCII(t *testing.T) {
	for _, tc := range []struct {
		token            string
		escaped, isASCII bool
	}{
		{`"plain"`, false, true},
		{`"a\nb"`, true, true},
		{`"é"`, false, false},
		{`"é\t"`, true, false},
	} {
		_, escaped, ascii, ok := String([]byte(tc.token), 0)
		if !ok || escaped != tc.escaped || ascii != tc.isASCII {
			t.Errorf("String(%q) = escaped %v, ascii %v, ok %v; want %v, %v, true", tc.token, escaped, ascii, ok, tc.escaped, tc.isASCII)
		}
	}
}
