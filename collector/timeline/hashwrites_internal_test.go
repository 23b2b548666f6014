package timeline

import (
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestHashWritesMergeAsWritesOneByOne checks the merging rules: what one
// HSET, the HSETNXs and the HINCRBYs of a batch leave is what the writes
// one by one would leave.
func TestHashWritesMergeAsWritesOneByOne(t *testing.T) {
	type op struct {
		kind  string // set, nx, incr, head
		field string
		value any
		bit   uint8 // for head
	}
	set := func(f string, v any) op { return op{kind: "set", field: f, value: v} }
	nx := func(f string, v any) op { return op{kind: "nx", field: f, value: v} }
	incr := func(f string, by int64) op { return op{kind: "incr", field: f, value: by} }
	head := func(bit uint8, f string, v any) op { return op{kind: "head", field: f, value: v, bit: bit} }
	many := make([]op, 0, 40)
	for i := range 20 {
		many = append(many, set(fmt.Sprint("s:", i), i))
	}
	cases := []struct {
		name   string
		known  uint8
		ops    []op
		hset   []string // field=value
		hsetnx []string
		incrs  []string
	}{
		{"the_last_set_of_a_field_wins", 0, []op{set("s:a", 1), set("s:a", 2)}, []string{"s:a=2"}, nil, nil},
		{"a_set_overrides_an_earlier_nx", 0, []op{nx("s:a", "pending"), set("s:a", "delivered")}, []string{"s:a=delivered"}, nil, nil},
		{"an_nx_after_a_set_is_left_out", 0, []op{set("s:a", "skipped"), nx("s:a", "pending")}, []string{"s:a=skipped"}, nil, nil},
		{"the_first_nx_wins", 0, []op{nx("first", 1), nx("first", 2)}, nil, []string{"first=1"}, nil},
		{"increments_add_up", 0, []op{incr("n:a", 1), incr("t:a", 2), incr("n:a", 1)}, nil, nil, []string{"n:a+2", "t:a+2"}},
		{"a_known_head_field_is_left_out", headFirst | headTrace, []op{head(headFirst, "first", 1), head(headTrace, "tr", "x"), head(headLast, "last", 1)},
			nil, []string{"last=1"}, nil},
		{"a_head_field_is_written_once_per_batch", 0, []op{head(headFirst, "first", 1), head(headFirst, "first", 2)}, nil, []string{"first=1"}, nil},
		{"many_fields_are_found_by_index", 0, append(slices.Clone(many), set("s:3", "x"), nx("s:19", "y"), set("s:20", 20)),
			func() []string {
				var out []string
				for i := range 21 {
					v := fmt.Sprint(i)
					if i == 3 {
						v = "x"
					}
					out = append(out, fmt.Sprintf("s:%d=%s", i, v))
				}
				return out
			}(), nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &hashWrites{known: tc.known}
			for _, o := range tc.ops {
				switch o.kind {
				case "set":
					h.set(o.field, o.value)
				case "nx":
					h.setNX(o.field, o.value)
				case "incr":
					h.incrBy(o.field, o.value.(int64))
				case "head":
					h.setHead(o.bit, o.field, o.value)
				}
			}
			var hset, hsetnx, incrs []string
			for i, f := range h.fields {
				hset = append(hset, fmt.Sprintf("%s=%v", f, h.values[i]))
			}
			for _, f := range h.nx {
				if !f.dropped {
					hsetnx = append(hsetnx, fmt.Sprintf("%s=%v", f.field, f.value))
				}
			}
			for _, c := range h.counters {
				incrs = append(incrs, fmt.Sprintf("%s+%d", c.field, c.by))
			}
			if !slices.Equal(hset, tc.hset) || !slices.Equal(hsetnx, tc.hsetnx) || !slices.Equal(incrs, tc.incrs) {
				t.Fatalf("HSET %v HSETNX %v HINCRBY %v\nwant HSET %v HSETNX %v HINCRBY %v", hset, hsetnx, incrs, tc.hset, tc.hsetnx, tc.incrs)
			}
		})
	}
}

// TestMergedCounterAnswersEachIncrement checks that every increment of a
// merged HINCRBY gets the value it would have got alone.
func TestMergedCounterAnswersEachIncrement(t *testing.T) {
	h := &hashWrites{}
	refs := []counterRef{h.incrBy("t:a", 2), h.incrBy("t:a", 1), h.incrBy("t:a", 3)}
	h.counters[0].cmd = redis.NewIntResult(10, nil) // 4 before the batch
	var got []int64
	for _, r := range refs {
		got = append(got, r.val())
	}
	if want := []int64{6, 7, 10}; !slices.Equal(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	if (counterRef{}).val() != 0 {
		t.Fatal("no increment answers a value")
	}
}
