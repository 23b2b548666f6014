package memo_test

import (
	"hash/maphash"
	"strconv"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/internal/memo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCache_returns_what_was_added(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		add      []string
		want     map[string]bool // key → expected to be found
	}{
		{name: "empty_cache_misses", capacity: 64, want: map[string]bool{"a": false}},
		{name: "added_keys_are_found", capacity: 64, add: []string{"a", "b", "c"},
			want: map[string]bool{"a": true, "b": true, "c": true, "d": false}},
		{name: "adding_a_key_again_keeps_one_entry", capacity: 64, add: []string{"a", "a", "a"},
			want: map[string]bool{"a": true}},
		{name: "tiny_capacity_keeps_the_latest_key", capacity: 2, add: []string{"a", "b", "c"},
			want: map[string]bool{"c": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := memo.New[string, string](tt.capacity, maphash.String)
			for _, k := range tt.add {
				c.Add(k, "value of "+k)
			}
			for k, found := range tt.want {
				v, ok := c.Get(k)
				if ok != found {
					t.Fatalf("Get(%q) found = %v, want %v", k, ok, found)
				}
				if ok && v != "value of "+k {
					t.Errorf("Get(%q) = %q", k, v)
				}
			}
		})
	}
}

func TestCache_never_holds_more_than_its_capacity(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		keys     int
	}{
		{name: "below_the_shard_threshold", capacity: 10, keys: 1000},
		{name: "sharded", capacity: 256, keys: 10_000},
		{name: "odd_capacity", capacity: 1001, keys: 10_000},
		{name: "capacity_below_minimum_is_raised", capacity: 0, keys: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := memo.New[string, int](tt.capacity, maphash.String)
			limit := max(tt.capacity, 2)
			for i := range tt.keys {
				k := strconv.Itoa(i)
				c.Add(k, i)
				if n := c.Len(); n > limit {
					t.Fatalf("after %d keys the cache holds %d entries, capacity %d", i+1, n, limit)
				}
				if v, ok := c.Get(k); !ok || v != i {
					t.Fatalf("Get(%q) = %d, %v right after Add", k, v, ok)
				}
			}
		})
	}
}

func TestCache_keeps_keys_in_use_across_rotations(t *testing.T) {
	c := memo.New[string, int](64, maphash.String)
	c.Add("hot", 1)
	for i := range 10_000 {
		c.Add(strconv.Itoa(i), i)
		if _, ok := c.Get("hot"); !ok {
			t.Fatalf("key in use evicted after %d other keys", i+1)
		}
	}
}

func TestCache_concurrent_use(t *testing.T) {
	// A small capacity makes the goroutines rotate generations while others
	// read; run with -race.
	c := memo.New[string, string](32, maphash.String)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := strconv.Itoa((i * (g + 1)) % 100)
				if v, ok := c.Get(k); ok && v != "v"+k {
					t.Errorf("Get(%q) = %q", k, v)
					return
				}
				c.Add(k, "v"+k)
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 32 {
		t.Errorf("cache holds %d entries, capacity 32", n)
	}
}

func TestCache_Clear_drops_every_entry(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		keys     int
	}{
		{name: "one_shard", capacity: 10, keys: 8},
		{name: "sharded_across_rotations", capacity: 256, keys: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := memo.New[string, int](tt.capacity, maphash.String)
			for i := range tt.keys {
				c.Add(strconv.Itoa(i), i)
			}
			c.Clear()
			if n := c.Len(); n != 0 {
				t.Fatalf("holds %d entries after Clear", n)
			}
			if _, ok := c.Get(strconv.Itoa(tt.keys - 1)); ok {
				t.Fatal("the last key added is still found after Clear")
			}
			c.Add("again", 1)
			if v, ok := c.Get("again"); !ok || v != 1 {
				t.Fatalf("Get after Clear and Add = %d, %v", v, ok)
			}
		})
	}
}
