package translate_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ccbridge/bridge/dispatcher/translate"
)

// TestReadmeMappingTableMatchesDefault keeps the README's mapping table and
// DefaultMapping the same table.
func TestReadmeMappingTableMatchesDefault(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "<!-- mapping-table:start -->")
	end := strings.Index(text, "<!-- mapping-table:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no mapping-table markers")
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
		t.Fatalf("README mapping table\n got %v\nwant %v", got, want)
	}
}
