package process

import (
	"runtime/debug"
	"testing"
)

func TestSetDefaultGCPercent(t *testing.T) {
	tests := []struct {
		name string
		gogc string // the environment's GOGC
		want int
	}{
		{name: "unset_takes_the_default", gogc: "", want: 40},
		{name: "the_environment_wins", gogc: "100", want: 77},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			before := debug.SetGCPercent(77)
			t.Cleanup(func() { debug.SetGCPercent(before) })
			SetDefaultGCPercent(40)
			if got := debug.SetGCPercent(77); got != tt.want {
				t.Fatalf("GC percent %d, want %d", got, tt.want)
			}
		})
	}
}
