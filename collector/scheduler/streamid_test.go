package scheduler

import "testing"

func TestLessStreamIDOrdersAsRedis(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1-0", "2-0", true},
		{"2-0", "1-0", false},
		{"5-9", "5-10", true}, // numeric, not lexical
		{"10-0", "9-0", false},
		{"5-3", "5-3", false},
		{"bad", "5-3", true}, // a malformed id comes first
		{"5-3", "bad", false},
		{"bad", "worse", false},
	}
	for _, tt := range tests {
		if got := LessStreamID(tt.a, tt.b); got != tt.want {
			t.Errorf("LessStreamID(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
