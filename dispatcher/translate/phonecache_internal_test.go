package translate

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ccbridge/bridge/internal/phone"
)

// phoneCases mixes numbers that normalize and numbers that do not, in the
// forms 8x8 sends them.
var phoneCases = []struct {
	name   string
	raw    string
	region string
}{
	{name: "e164", raw: "+15515557212", region: "US"},
	{name: "national_digits", raw: "5515557212", region: "US"},
	{name: "formatted_national", raw: "(551) 555-7212", region: "US"},
	{name: "surrounding_spaces", raw: " 5515557212\n", region: "US"},
	{name: "same_digits_other_region_is_invalid", raw: "5515557212", region: "FR"},
	{name: "other_country", raw: "07400 123456", region: "GB"},
	{name: "letters_are_invalid", raw: "anonymous", region: "US"},
	{name: "too_short_is_invalid", raw: "5557212", region: "US"},
	{name: "unverified_range", raw: "+1 473 555 8383", region: "US"},
	{name: "unverified_other_country", raw: "+44 1632 960000", region: "US"},
	{name: "blank_is_invalid", raw: "   ", region: "US"},
	{name: "unknown_region_is_invalid", raw: "5515557212", region: "ZZ"},
}

func TestPhoneCache_hits_return_what_a_fresh_parse_returns(t *testing.T) {
	// Large enough that every case fits even if all of them hash to one
	// shard (a shard holds two generations of capacity/32 entries; the
	// hash is of the number only, so three cases always share a shard).
	c := newPhoneCache(32 * len(phoneCases))
	for _, tt := range phoneCases {
		t.Run(tt.name, func(t *testing.T) {
			want, wantErr := phone.Parse(tt.raw, tt.region)
			for _, call := range []string{"miss", "hit", "hit_again"} {
				got, err := c.parse(tt.raw, tt.region)
				if got != want || (err == nil) != (wantErr == nil) {
					t.Fatalf("%s: parse(%q, %q) = %+v, %v; phone.Parse gives %+v, %v", call, tt.raw, tt.region, got, err, want, wantErr)
				}
				if err != nil && (err.Error() != wantErr.Error() || !errors.Is(err, phone.ErrInvalid)) {
					t.Fatalf("%s: error %q, want %q matching phone.ErrInvalid", call, err, wantErr)
				}
			}
		})
	}
	if n := c.results.Len(); n != len(phoneCases) {
		t.Errorf("cache holds %d entries, want one per (number, region): %d", n, len(phoneCases))
	}
}

func TestPhoneCache_stays_within_its_capacity(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		numbers  int
	}{
		{name: "small_cache_many_numbers", capacity: 16, numbers: 120},
		{name: "sharded_cache_many_numbers", capacity: 128, numbers: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newPhoneCache(tt.capacity)
			for i := range tt.numbers {
				raw := fmt.Sprintf("212555%04d", i)
				got, err := c.parse(raw, "US")
				if want := "+1" + raw; got.E164 != want || err != nil {
					t.Fatalf("parse(%q) = %+v, %v; want %q", raw, got, err, want)
				}
				if n := c.results.Len(); n > tt.capacity {
					t.Fatalf("after %d numbers the cache holds %d entries, capacity %d", i+1, n, tt.capacity)
				}
			}
		})
	}
}

func TestPhoneCache_concurrent_use_agrees_with_phone_Parse(t *testing.T) {
	type result struct {
		number phone.Number
		err    string
	}
	want := make([]result, len(phoneCases))
	for i, tt := range phoneCases {
		p, err := phone.Parse(tt.raw, tt.region)
		want[i].number = p
		if err != nil {
			want[i].err = err.Error()
		}
	}
	// A capacity below the number of keys keeps generations rotating while
	// other goroutines read; run with -race.
	c := newPhoneCache(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				n := (i + g) % len(phoneCases)
				p, err := c.parse(phoneCases[n].raw, phoneCases[n].region)
				got := result{number: p}
				if err != nil {
					got.err = err.Error()
				}
				if got != want[n] {
					t.Errorf("%s: got %+v, want %+v", phoneCases[n].name, got, want[n])
					return
				}
			}
		})
	}
	wg.Wait()
}
