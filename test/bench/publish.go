package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ccbridge/bridge/test/chaos"
)

// Publishing: at full speed, chunks of fullSpeedChunk lines back to back,
// and a line's latency counts from its chunk's hand-over. Paced, the SAPI
// double keeps the pace: the publisher hands over pacedChunkSpan's worth
// of lines at a time, pacedLead before the first of them is due, and the
// double writes line i at start + i/rate, not before; a line's latency
// counts from when it was due. The harness thus costs the machine one
// request per chunk, not one per few lines (which, every 2 ms, took a
// third of the bridge's latency budget in CPU the bridge never needs),
// and events arrive one by one, as from a tenant, not in bursts.
const (
	fullSpeedChunk = 1000
	pacedChunkSpan = 500 * time.Millisecond
	pacedLead      = 250 * time.Millisecond
)

// publisher publishes a script through the SAPI double and remembers, for
// every line Regal must receive, when it was handed over (full speed) or
// due (paced).
type publisher struct {
	h      *chaos.Harness
	script *script
	rate   float64 // lines per second; 0 for full speed

	// sentAt is each chunk's hand-over time, or paced, when its first line
	// is due; lineOf maps a Regal key to its line's index in the script.
	sentAt []time.Time
	lineOf map[eventKey]int32
	// lastAt is when the last line was handed over or due.
	lastAt time.Time

	published atomic.Int64 // lines published so far
	expected  atomic.Int64 // of which Regal must receive
}

func newPublisher(h *chaos.Harness, s *script, rate float64) *publisher {
	return &publisher{h: h, script: s, rate: rate, lineOf: map[eventKey]int32{}}
}

// chunkSize is the number of lines per publish request.
func (p *publisher) chunkSize() int {
	if p.rate == 0 {
		return fullSpeedChunk
	}
	return max(1, int(p.rate*pacedChunkSpan.Seconds()+0.5))
}

// interval is the time between two paced lines.
func (p *publisher) interval() time.Duration {
	return time.Duration(float64(time.Second) / p.rate)
}

// run publishes every line; paced, chunk i is handed over pacedLead
// before its first line is due at start + i × chunk/rate.
func (p *publisher) run(ctx context.Context) error {
	size := p.chunkSize()
	var start time.Time
	for i := 0; ; i++ {
		lines, err := p.script.next(size)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return nil
		}
		at := time.Now() // full speed: the hand-over
		if p.rate > 0 {
			if i == 0 {
				start = at.Add(pacedLead) // the pace counts from the first chunk ready
			}
			at = start.Add(time.Duration(i*size) * p.interval()) // the chunk's first line is due
			if err := sleepUntil(ctx, at.Add(-pacedLead)); err != nil {
				return err
			}
		}
		if err := p.note(at, i*size, lines); err != nil {
			return err
		}
		if p.rate > 0 {
			err = p.h.PublishPaced(ctx, at, p.interval(), lines)
		} else {
			err = p.h.Publish(ctx, lines)
		}
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		p.lastAt = p.lineAt(at, len(lines)-1)
		p.published.Add(int64(len(lines)))
	}
}

// lineAt is when line j of a chunk noted at chunkAt was handed over (full
// speed: with its chunk) or due (paced: j intervals after the chunk's
// first), as the SAPI double computes it.
func (p *publisher) lineAt(chunkAt time.Time, j int) time.Time {
	if p.rate == 0 {
		return chunkAt
	}
	return chunkAt.Add(time.Duration(j) * p.interval())
}

// note records a chunk's time (hand-over, or paced, its first line's due
// time) and the keys of its lines that Regal must receive; the chunk's
// first line is line first of the script.
func (p *publisher) note(at time.Time, first int, lines [][]byte) error {
	p.sentAt = append(p.sentAt, at)
	for i, line := range lines {
		key, ok, err := chaos.RegalKeyOfLine(line)
		if err != nil {
			return err
		}
		if ok {
			p.lineOf[keyOf(key)] = int32(first + i)
			p.expected.Add(1)
		}
	}
	return nil
}

// firstSent is when the first chunk was handed over or its first line due.
func (p *publisher) firstSent() time.Time {
	if len(p.sentAt) == 0 {
		return time.Time{}
	}
	return p.sentAt[0]
}

// publishSeconds is the time from the first line's hand-over (or due time)
// to the last's.
func (p *publisher) publishSeconds() float64 {
	if len(p.sentAt) == 0 {
		return 0
	}
	return p.lastAt.Sub(p.sentAt[0]).Seconds()
}

// sentAtOf is when the line with this Regal key was handed over (full
// speed) or due (paced).
func (p *publisher) sentAtOf(key eventKey) (time.Time, bool) {
	line, ok := p.lineOf[key]
	if !ok {
		return time.Time{}, false
	}
	size := p.chunkSize()
	return p.lineAt(p.sentAt[int(line)/size], int(line)%size), true
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
