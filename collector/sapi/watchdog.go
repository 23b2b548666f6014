package sapi

import (
	"io"
	"sync"
	"time"
)

// Heartbeat learning. 8x8 does not document its heartbeat interval, and a
// fixed watchdog long enough for any interval (IdleTimeout, 180 s) leaves a
// stream with 10-second heartbeats dead for three minutes. The Client
// therefore measures the interval on the stream itself and declares a stall
// after MissedHeartbeats intervals of silence, within
// [IdleTimeoutMin, IdleTimeout].
const (
	// learnedGaps is how many recent heartbeat intervals the estimate
	// covers.
	learnedGaps = 8
	// gapsToLearn is how many intervals must be seen before the estimate
	// replaces IdleTimeout: one interval could be a coincidence.
	gapsToLearn = 2
	// minHeartbeatGap is the shortest interval taken as one: heartbeats
	// closer than that were queued behind a slow handler (backpressure) and
	// read together, and say nothing of the server's interval.
	minHeartbeatGap = time.Second
)

// heartbeats learns the server's heartbeat interval from the arrival times
// of heartbeats (ClientCheck messages and Atmosphere "X" padding). The
// estimate is the longest of the last learnedGaps intervals: a late
// heartbeat raises it at once, so the watchdog errs on the side of waiting,
// and it falls again only after learnedGaps shorter intervals. Intervals
// survive reconnects (the interval is the server's); the time of the last
// heartbeat does not. Safe for concurrent use.
type heartbeats struct {
	mu   sync.Mutex
	gaps [learnedGaps]time.Duration // ring of the latest intervals
	n    int                        // intervals recorded, ever
	last time.Time                  // the latest heartbeat of this stream; zero before the first
}

// observe records a heartbeat that arrived at now.
func (h *heartbeats) observe(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.last.IsZero() {
		if gap := now.Sub(h.last); gap >= minHeartbeatGap {
			h.gaps[h.n%learnedGaps] = gap
			h.n++
		}
	}
	h.last = now
}

// newStream forgets the last heartbeat's time: a new stream's first
// heartbeat starts no interval.
func (h *heartbeats) newStream() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = time.Time{}
}

// forget drops the learned intervals after a stall: the estimate may have
// been too short (heartbeats read close together after backpressure, or a
// server that lengthened its interval), and a stream cut before its second
// heartbeat could never learn a longer one. The ceiling applies again until
// the interval is learned anew.
func (h *heartbeats) forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n = 0
}

// interval returns the estimated heartbeat interval, or false while too few
// intervals were seen.
func (h *heartbeats) interval() (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n < gapsToLearn {
		return 0, false
	}
	var longest time.Duration
	for _, g := range h.gaps[:min(h.n, learnedGaps)] {
		longest = max(longest, g)
	}
	return longest, true
}

// stallTimeout is how long a stream may stay silent: missed heartbeat
// intervals once the interval is learned, within [floor, ceiling]; the
// ceiling until then.
func (h *heartbeats) stallTimeout(missed int, floor, ceiling time.Duration) time.Duration {
	interval, ok := h.interval()
	if !ok {
		return ceiling
	}
	return min(max(time.Duration(missed)*interval, floor), ceiling)
}

// watchdog fires when the server has sent nothing for timeout(). It only
// measures time spent waiting for the server: it is paused while the
// handler works on a frame. Each kick reads the timeout again, so a newly
// learned heartbeat interval applies from the next byte on; timeout is
// called on every read, so it must be cheap.
type watchdog struct {
	timer   Timer
	timeout func() time.Duration
}

func newWatchdog(clock Clock, timeout func() time.Duration, fire func()) *watchdog {
	return &watchdog{timer: clock.AfterFunc(timeout(), fire), timeout: timeout}
}

// kick restarts the countdown.
func (w *watchdog) kick() { w.timer.Reset(w.timeout()) }

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
