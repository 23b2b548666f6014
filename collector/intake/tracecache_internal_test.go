package intake

import (
	"fmt"
	"strings"
	"testing"
)

func TestTraceCache(t *testing.T) {
	const tp1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	const tp2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name string
		max  int
		run  func(c *traceCache)
		want map[string]string // id → traceparent; "" = not remembered
	}{
		{
			name: "a_put_traceparent_is_returned_for_its_interaction_only",
			max:  10,
			run:  func(c *traceCache) { c.put("int-1", tp1) },
			want: map[string]string{"int-1": tp1, "int-2": ""},
		},
		{
			name: "a_second_put_replaces_the_first",
			max:  10,
			run:  func(c *traceCache) { c.put("int-1", tp1); c.put("int-1", tp2) },
			want: map[string]string{"int-1": tp2},
		},
		{
			name: "an_interaction_read_recently_outlives_idle_ones",
			max:  4,
			run: func(c *traceCache) {
				c.put("int-0", tp1)
				for i := 1; i < 6; i++ {
					c.put(fmt.Sprintf("int-%d", i), tp2)
					c.get("int-0")
				}
			},
			want: map[string]string{"int-0": tp1, "int-1": "", "int-5": tp2},
		},
		{
			name: "a_traceparent_longer_than_a_slot_is_not_remembered",
			max:  10,
			run:  func(c *traceCache) { c.put("int-1", strings.Repeat("f", maxTraceparentLen+1)) },
			want: map[string]string{"int-1": ""},
		},
		{
			name: "a_traceparent_that_fills_a_slot_is_kept_whole",
			max:  10,
			run:  func(c *traceCache) { c.put("int-1", strings.Repeat("f", maxTraceparentLen)) },
			want: map[string]string{"int-1": strings.Repeat("f", maxTraceparentLen)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTraceCache(tt.max)
			tt.run(c)
			for id, want := range tt.want {
				if has := c.has(id); has != (want != "") {
					t.Errorf("has(%q) = %v; want %v", id, has, want != "")
				}
				got, ok := c.get(id)
				if ok != (want != "") || got != want {
					t.Errorf("get(%q) = %q, %v; want %q", id, got, ok, want)
				}
			}
		})
	}
}
