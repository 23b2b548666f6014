package chaos

import (
	"context"
	"time"
)

// quietFor is how long the bridge must show no activity, with nothing
// unsettled, to count as settled.
const quietFor = 3 * time.Second

// snapshot is what the settle wait watches.
type snapshot struct {
	sapiBuffered    int   // events the SAPI double has not written yet
	sapiWritten     int64 // events the SAPI double wrote
	sapiSubscribers int
	unsettled       int64 // events in the Redis delivery streams
	regalAccepted   int   // events Regal accepted
}

// idle reports whether nothing is left to deliver: the SAPI double wrote
// everything to an open stream and Redis holds nothing unsettled.
func (s snapshot) idle() bool {
	return s.sapiBuffered == 0 && s.sapiSubscribers > 0 && s.unsettled == 0
}

// sameActivity reports whether nothing moved between two snapshots.
func (s snapshot) sameActivity(o snapshot) bool {
	return s.sapiWritten == o.sapiWritten && s.regalAccepted == o.regalAccepted
}

// observe takes a snapshot.
func (c *cluster) observe(ctx context.Context) (snapshot, error) {
	var s snapshot
	st, err := c.sapiCtl.tenantStats(ctx)
	if err != nil {
		return s, err
	}
	s.sapiBuffered, s.sapiWritten, s.sapiSubscribers = st.Buffered, st.Written, st.Subscribers
	if s.unsettled, err = unsettledCount(ctx, c.rdb, c.tenant); err != nil {
		return s, err
	}
	rs, err := c.regalCtl.stats(ctx)
	if err != nil {
		return s, err
	}
	s.regalAccepted = rs.Accepted
	return s, nil
}

// waitSettled waits until the bridge has been idle, with no activity,
// for quietFor (an event read off the stream but not yet admitted shows
// as activity soon enough), or until timeout. It reports whether it
// settled.
func (c *cluster) waitSettled(ctx context.Context, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last snapshot
	var quietSince time.Time
	lastLog := time.Now()
	for {
		s, err := c.observe(ctx)
		switch {
		case err != nil:
			quietSince = time.Time{}
		case !s.idle() || !s.sameActivity(last):
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) >= quietFor:
			return true
		}
		if err == nil {
			last = s
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			c.log.Info("waiting for the bridge to settle", "unsettled", last.unsettled,
				"sapi_buffered", last.sapiBuffered, "regal_accepted", last.regalAccepted)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
}
