package sapidouble

import (
	"fmt"
	"sync/atomic"
	"time"
)

// tenantState is what the double knows about one tenant; guarded by
// Server.mu.
type tenantState struct {
	name       string
	instance   int
	instanceID string
	// instanceIDJSON is instanceID quoted, made once per instance rather
	// than per event.
	instanceIDJSON []byte
	sequence       int64
	subs           map[string]*subscription
	published      int64 // events given to Publish
	written        int64 // events written to streams, replays included
}

// subscription is one subsId: its buffer outlives its connections.
type subscription struct {
	id             string
	pending        []item    // not yet written, in order
	live           *stream   // the connected stream, nil if none
	disconnectedAt time.Time // when live last became nil
	recent         []item    // last events written, for duplicate-on-replay
	connected      bool      // a stream was attached at least once
}

// item is one thing to write to a stream.
type item struct {
	event []byte    // a stamped JSON event, or raw bytes
	raw   bool      // write verbatim, whatever the output format
	due   time.Time // not written before (PublishPaced); zero: at once

	// heartbeat: a ClientCheck from SendHeartbeat, rendered like an event
	// but neither counted as one nor replayed.
	heartbeat bool
}

// stream is one connected response.
type stream struct {
	wake chan struct{} // pending has new items
	end  chan struct{} // closed when the stream is cut or replaced
	// reset: the stream was ended by Reset; its connection is aborted.
	reset atomic.Bool
}

// recentKept is the least number of events remembered for
// duplicate-on-replay; a larger ReplayLast raises it.
const recentKept = 256

func newTenantState(name string) *tenantState {
	t := &tenantState{name: name, subs: map[string]*subscription{}}
	t.failover()
	return t
}

// failover moves the tenant to a new 8x8 instance: new instanceId, sequence
// restarted.
func (t *tenantState) failover() {
	t.instance++
	t.instanceID = fmt.Sprintf("us1tomcat%02d.us1.sapi-double.local-sapi-v1", t.instance)
	t.instanceIDJSON = appendJSONString(nil, t.instanceID)
	t.sequence = 0
}

// nextMsgInfo consumes a sequence number.
func (t *tenantState) nextMsgInfo(now time.Time) []byte {
	return t.appendNextMsgInfo(nil, now)
}

// appendNextMsgInfo consumes a sequence number and appends its msgInfo
// to dst.
func (t *tenantState) appendNextMsgInfo(dst []byte, now time.Time) []byte {
	t.sequence++
	return appendMsgInfo(dst, t.instanceIDJSON, t.sequence, now)
}

// prune forgets subscriptions disconnected for longer than retention, with
// their buffers, as 8x8 does after two hours.
func (t *tenantState) prune(now time.Time, retention time.Duration) {
	for id, sub := range t.subs {
		if sub.live == nil && now.Sub(sub.disconnectedAt) > retention {
			delete(t.subs, id)
		}
	}
}

// buffered counts the events waiting in the tenant's subscriptions.
func (t *tenantState) buffered() int {
	n := 0
	for _, sub := range t.subs {
		n += len(sub.pending)
	}
	return n
}

func (t *tenantState) liveCount() int {
	n := 0
	for _, sub := range t.subs {
		if sub.live != nil {
			n++
		}
	}
	return n
}

// enqueue adds items to a subscription and wakes its stream.
func (sub *subscription) enqueue(items ...item) {
	sub.pending = append(sub.pending, items...)
	if sub.live != nil {
		select {
		case sub.live.wake <- struct{}{}:
		default:
		}
	}
}

// detach ends the live stream, keeping the buffer for the next one.
func (sub *subscription) detach(now time.Time) {
	if sub.live == nil {
		return
	}
	close(sub.live.end)
	sub.live = nil
	sub.disconnectedAt = now
}

// remember records written events for duplicate-on-replay, keeping at
// least the last keep of them (trimmed once twice as many pile up, so a
// large keep costs no copy per batch), and returns how many events (raw
// writes excluded) the batch held.
func (sub *subscription) remember(batch []item, keep int) int {
	events := 0
	for _, it := range batch {
		if !it.raw && !it.heartbeat {
			sub.recent = append(sub.recent, it)
			events++
		}
	}
	if len(sub.recent) > 2*keep {
		sub.recent = append(sub.recent[:0:0], sub.recent[len(sub.recent)-keep:]...)
	}
	return events
}
