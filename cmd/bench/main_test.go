package main

import (
	"slices"
	"testing"
)

func TestParseCounts(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "one_and_four", in: "1,4", want: []int{1, 4}},
		{name: "spaces_are_ignored", in: " 1 , 2 ,4", want: []int{1, 2, 4}},
		{name: "zero_is_refused", in: "0,4", wantErr: true},
		{name: "words_are_refused", in: "one", wantErr: true},
		{name: "empty_item_is_refused", in: "1,,4", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCounts(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Fatalf("parseCounts(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
