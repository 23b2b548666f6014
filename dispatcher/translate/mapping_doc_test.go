package translate_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ccbridge/bridge/dispatcher/translate"
)

// TestMappingDocTableMatchesDefault keeps docs/mapping.md's mapping table and
// DefaultMapping the same table.
func TestMappingDocTableMatchesDefault(t *testing.T) {
	b, err := os.ReadFile("../../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "<!-- mapping-table:start -->")
	end := strings.Index(text, "<!-- mapping-table:end -->")
	if start < 0 || end < start {
		t.Fatal("docs/mapping.md has no mapping-table markers")
	}
	var got []translate.EventMapping
	for _, line := range strings.Split(text[start:end], "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 2 || !strings.HasPrefix(line, "|") {
			continue
		}
		src, name := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		if src == "8x8 SAPI event" || strings.HasPrefix(src, "---") {
			continue
		}
		got = append(got, translate.EventMapping{Source: src, Name: name})
	}
	if want := translate.DefaultMapping().Events; !reflect.DeepEqual(got, want) {
		t.Fatalf("docs/mapping.md mapping table\n got %v\nwant %v", got, want)
	}
}
