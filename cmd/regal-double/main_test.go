package main

import (
	"reflect"
	"testing"

	"github.com/ccbridge/bridge/internal/secret"
)

func TestAPIKeys(t *testing.T) {
	tests := []struct {
		name string
		list string
		want []secret.Secret
	}{
		{name: "unset", list: ""},
		{name: "one_key", list: "rk_one", want: []secret.Secret{"rk_one"}},
		{name: "several_keys_with_spaces", list: " rk_one , rk_two,", want: []secret.Secret{"rk_one", "rk_two"}},
		{name: "only_separators", list: " , ,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apiKeys(tt.list); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("apiKeys(%q) = %d keys, want %d", tt.list, len(got), len(tt.want))
			}
		})
	}
}
