// Package poll waits, in tests, for a condition that another goroutine or
// process brings about: it checks the condition every few milliseconds
// until it holds or a deadline passes. Waiting on what can be observed,
// rather than sleeping for a guessed while, keeps tests fast when the
// machine is idle and correct when it is loaded.
package poll

import (
	"testing"
	"time"
)

// Timeout is how long Until waits. It is generous: it bounds only a test
// that is failing, and a loaded machine (the race detector, two cores
// shared) must not fail a test that is passing.
const Timeout = 20 * time.Second

// interval is the pause between two checks.
const interval = 5 * time.Millisecond

// Until calls cond until it returns true, and fails t with "timed out
// waiting for <what>" when it has not within Timeout. cond runs on the
// test's goroutine, so it may call t.Fatal itself.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	until(t, Timeout, what, cond)
}

func until(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Wait(d, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Wait calls cond until it returns true or d has passed, and reports
// whether it held: for a caller that decides itself what a timeout means
// (a condition that must not come about, a retry loop outside a test).
// cond is called at least once, and once more at the deadline.
func Wait(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
