package chaos

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// recentForRepeats is how far back a repeated line may reach.
const recentForRepeats = 64

// withRepeats returns the events as published lines: each event once, in
// order, and after each, with probability rate, a repeat of one of the
// last recentForRepeats events (as 8x8 repeats events around reconnects
// and failovers). It also returns the number of repeated lines.
func withRepeats(events [][]byte, rate float64, r *rand.Rand) ([][]byte, int) {
	lines := make([][]byte, 0, len(events)+int(float64(len(events))*rate)+1)
	repeats := 0
	for i, ev := range events {
		lines = append(lines, ev)
		if r.Float64() < rate {
			lines = append(lines, events[i-r.IntN(min(i+1, recentForRepeats))])
			repeats++
		}
	}
	return lines, repeats
}

// publisher publishes lines through the SAPI double in chunks at a steady
// pace.
type publisher struct {
	sapi     sapiControl
	lines    [][]byte
	chunk    int
	duration time.Duration // to publish every line

	mu        sync.Mutex // orders publish and republishLast
	last      [][]byte   // the last chunk published
	published int        // lines published so far
}

// run publishes every chunk, the i-th at start + i × duration/chunks.
func (p *publisher) run(ctx context.Context) error {
	chunks := (len(p.lines) + p.chunk - 1) / p.chunk
	interval := p.duration / time.Duration(max(chunks, 1))
	start := time.Now()
	for i := range chunks {
		if err := sleepUntil(ctx, start.Add(time.Duration(i)*interval)); err != nil {
			return err
		}
		chunk := p.lines[i*p.chunk : min((i+1)*p.chunk, len(p.lines))]
		if err := p.publish(ctx, chunk); err != nil {
			return err
		}
	}
	return nil
}

func (p *publisher) publish(ctx context.Context, chunk [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.sapi.publish(ctx, chunk); err != nil {
		return err
	}
	p.last = chunk
	p.published += len(chunk)
	return nil
}

// republishLast publishes the last chunk again, as 8x8 re-sends events
// after a failover, and returns how many events it re-sent.
func (p *publisher) republishLast(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.last), p.sapi.publish(ctx, p.last)
}

// progress is the number of lines published so far.
func (p *publisher) progress() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published
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
