package timeline

import (
	"fmt"
	"testing"
	"time"
)

func TestExpiryRefreshScalesWithTheRetention(t *testing.T) {
	cases := []struct {
		name               string
		retention          time.Duration
		wantRefresh, wantT time.Duration
	}{
		{"minimum_retention_keeps_the_slack_floor", time.Minute, 30 * time.Second, 2 * time.Minute},
		{"an_hour_refreshes_every_hundredth", time.Hour, 36 * time.Second, time.Hour + 72*time.Second},
		{"a_week_refreshes_at_the_cap", 7 * 24 * time.Hour, 5 * time.Minute, 7*24*time.Hour + 10*time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := expiryRefresh(tc.retention); got != tc.wantRefresh {
				t.Fatalf("refresh %v, want %v", got, tc.wantRefresh)
			}
			if got := keyTTL(tc.retention); got != tc.wantT {
				t.Fatalf("TTL %v, want %v", got, tc.wantT)
			}
		})
	}
}

func TestKeyMemoTrustsAMarkForItsInterval(t *testing.T) {
	const refresh, trim = 5 * time.Minute, time.Minute
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type want struct{ expire, trim bool }
	cases := []struct {
		name   string
		marked []memoUpdate // at t0
		at     time.Duration
		want   want
	}{
		{"an_unknown_key_needs_both", nil, 0, want{true, true}},
		{"a_ttl_set_is_trusted_within_the_refresh", []memoUpdate{{key: "k", expire: true}}, refresh - time.Millisecond, want{false, true}},
		{"a_ttl_set_is_due_again_after_the_refresh", []memoUpdate{{key: "k", expire: true}}, refresh, want{true, true}},
		{"a_trim_is_trusted_within_the_trim_interval", []memoUpdate{{key: "k", expire: true, trim: true}}, trim - time.Millisecond, want{false, false}},
		{"a_trim_is_due_again_after_the_trim_interval", []memoUpdate{{key: "k", expire: true, trim: true}}, trim, want{false, true}},
		{"a_clock_gone_back_makes_marks_stale", []memoUpdate{{key: "k", expire: true, trim: true}}, -time.Second, want{true, true}},
		{"another_key_is_not_marked", []memoUpdate{{key: "other", expire: true, trim: true}}, 0, want{true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newKeyMemo(t0.Add(-time.Hour), refresh, trim, 100)
			m.done(t0, tc.marked)
			expire, trimDue, _ := m.needs("k", t0.Add(tc.at))
			if got := (want{expire, trimDue}); got != tc.want {
				t.Fatalf("needs %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestKeyMemoKeepsTheLatestMark(t *testing.T) {
	const refresh = 5 * time.Minute
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := newKeyMemo(t0, refresh, time.Minute, 100)
	m.done(t0.Add(time.Minute), []memoUpdate{{key: "k", expire: true}})
	m.done(t0, []memoUpdate{{key: "k", expire: true}}) // a batch that read the clock earlier finished later
	if expire, _, _ := m.needs("k", t0.Add(refresh+30*time.Second)); expire {
		t.Fatal("an older batch moved the mark back")
	}
}

func TestKeyMemoKnowsHeadFieldsWhileTheyAreFresh(t *testing.T) {
	const refresh = 5 * time.Minute
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		at   time.Duration
		head uint8 // written by a batch at t0+at
	}
	cases := []struct {
		name  string
		steps []step
		at    time.Duration
		want  uint8
	}{
		{"written_fields_are_known", []step{{0, headFirst | headLast}}, refresh - time.Millisecond, headFirst | headLast},
		{"they_are_forgotten_after_the_refresh", []step{{0, headFirst | headLast}}, refresh, 0},
		{"a_later_write_carries_fresh_fields", []step{{0, headFirst | headTrace}, {4 * time.Minute, headLast}}, 8 * time.Minute, headFirst | headLast | headTrace},
		{"a_write_after_the_refresh_carries_nothing", []step{{0, headFirst | headTrace}, {refresh, headLast}}, refresh + time.Minute, headLast},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newKeyMemo(t0, refresh, time.Minute, 100)
			for _, s := range tc.steps {
				m.done(t0.Add(s.at), []memoUpdate{{key: "k", head: s.head}})
			}
			if _, _, got := m.needs("k", t0.Add(tc.at)); got != tc.want {
				t.Fatalf("known head fields %b, want %b", got, tc.want)
			}
		})
	}
}

func TestKeyMemoIsBoundedAndKeepsKeysInUse(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const size = 100
	m := newKeyMemo(t0, time.Hour, time.Minute, size)
	m.done(t0, []memoUpdate{{key: "hot", expire: true}})
	for i := range 10 * size {
		m.done(t0, []memoUpdate{{key: fmt.Sprint("cold-", i), expire: true}})
		if expire, _, _ := m.needs("hot", t0); expire {
			t.Fatalf("the key in use was forgotten after %d others", i+1)
		}
		if n := m.len(); n > size {
			t.Fatalf("%d keys remembered, bound %d", n, size)
		}
	}
	if expire, _, _ := m.needs("cold-0", t0); !expire {
		t.Fatal("an idle key is still remembered")
	}
	m.forget()
	if expire, _, _ := m.needs("hot", t0); !expire || m.len() != 0 {
		t.Fatal("forget kept marks")
	}
}
