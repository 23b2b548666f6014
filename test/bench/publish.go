package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ccbridge/bridge/test/chaos"
)

// Publishing: at full speed, chunks of fullSpeedChunk lines back to back;
// paced, one chunk every pacingStep holding rate × pacingStep lines. A
// line's latency counts from its chunk's hand-over, so paced chunks are
// small: a 20-line chunk would measure how long the bridge takes to work
// off a burst of 20, not what it adds to one event.
const (
	fullSpeedChunk = 1000
	pacingStep     = 2 * time.Millisecond
)

// publisher publishes a script through the SAPI double and remembers, for
// every line Regal must receive, when its chunk was handed over.
type publisher struct {
	h      *chaos.Harness
	script *script
	rate   float64 // lines per second; 0 for full speed

	// sentAt is each chunk's hand-over time; chunkOf maps a Regal key to
	// its line's chunk.
	sentAt  []time.Time
	chunkOf map[eventKey]int32

	published atomic.Int64 // lines published so far
	expected  atomic.Int64 // of which Regal must receive
}

func newPublisher(h *chaos.Harness, s *script, rate float64) *publisher {
	return &publisher{h: h, script: s, rate: rate, chunkOf: map[eventKey]int32{}}
}

// chunkSize is the number of lines per publish request.
func (p *publisher) chunkSize() int {
	if p.rate == 0 {
		return fullSpeedChunk
	}
	return max(1, int(p.rate*pacingStep.Seconds()+0.5))
}

// run publishes every line; paced, chunk i goes at start + i × chunk/rate.
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
		if i == 0 {
			start = time.Now() // the pace counts from the first chunk ready
		}
		if p.rate > 0 {
			at := start.Add(time.Duration(float64(i*size) / p.rate * float64(time.Second)))
			if err := sleepUntil(ctx, at); err != nil {
				return err
			}
		}
		if err := p.note(lines); err != nil {
			return err
		}
		if err := p.h.Publish(ctx, lines); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		p.published.Add(int64(len(lines)))
	}
}

// note records the hand-over time of a chunk about to be published and
// the keys of its lines that Regal must receive.
func (p *publisher) note(lines [][]byte) error {
	chunk := int32(len(p.sentAt))
	p.sentAt = append(p.sentAt, time.Now())
	for _, line := range lines {
		key, ok, err := chaos.RegalKeyOfLine(line)
		if err != nil {
			return err
		}
		if ok {
			p.chunkOf[keyOf(key)] = chunk
			p.expected.Add(1)
		}
	}
	return nil
}

// firstSent is when the first chunk was handed over.
func (p *publisher) firstSent() time.Time {
	if len(p.sentAt) == 0 {
		return time.Time{}
	}
	return p.sentAt[0]
}

// publishSeconds is the time from the first chunk's hand-over to the
// last's.
func (p *publisher) publishSeconds() float64 {
	if len(p.sentAt) == 0 {
		return 0
	}
	return p.sentAt[len(p.sentAt)-1].Sub(p.sentAt[0]).Seconds()
}

// sentAtOf is when the line with this Regal key was handed over.
func (p *publisher) sentAtOf(key eventKey) (time.Time, bool) {
	chunk, ok := p.chunkOf[key]
	if !ok {
		return time.Time{}, false
	}
	return p.sentAt[chunk], true
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
