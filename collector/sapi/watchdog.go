package sapi

import (
	"io"
	"time"
)

// watchdog fires when the server has sent nothing for a while. It only
// measures time spent waiting for the server: it is paused while the
// handler works on a frame.
type watchdog struct {
	timer   *time.Timer
	timeout time.Duration
}

func newWatchdog(timeout time.Duration, fire func()) *watchdog {
	return &watchdog{timer: time.AfterFunc(timeout, fire), timeout: timeout}
}

// kick restarts the countdown.
func (w *watchdog) kick() { w.timer.Reset(w.timeout) }

// pause stops the countdown until the next kick.
func (w *watchdog) pause() { w.timer.Stop() }

// activityReader kicks the watchdog whenever bytes arrive.
type activityReader struct {
	r        io.Reader
	watchdog *watchdog
}

// Read implements io.Reader.
func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.watchdog.kick()
	}
	return n, err
}
