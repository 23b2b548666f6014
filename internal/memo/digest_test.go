package memo_test

import (
	"testing"

	"github.com/ccbridge/bridge/internal/memo"
)

func TestDigester_Of(t *testing.T) {
	d := memo.NewDigester()
	tests := []struct {
		name      string
		a, b      []string
		wantEqual bool
	}{
		{name: "the_same_parts_digest_alike", a: []string{"tenant", "int-1"}, b: []string{"tenant", "int-1"}, wantEqual: true},
		{name: "another_id_differs", a: []string{"tenant", "int-1"}, b: []string{"tenant", "int-2"}},
		{name: "parts_are_not_merely_concatenated", a: []string{"ab", "c"}, b: []string{"a", "bc"}},
		{name: "an_empty_part_counts", a: []string{"a", ""}, b: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Of(tt.a...) == d.Of(tt.b...); got != tt.wantEqual {
				t.Fatalf("Of(%q) == Of(%q) is %v, want %v", tt.a, tt.b, got, tt.wantEqual)
			}
		})
	}
	if other := memo.NewDigester(); other.Of("x") == d.Of("x") {
		t.Fatal("two digesters gave the same digest: their seeds are not their own")
	}
}
