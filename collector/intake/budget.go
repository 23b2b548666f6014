package intake

import (
	"context"
	"sync"
)

// byteBudget bounds the bytes held by events between the SAPI readers and
// the scheduler (decoded, batched, being admitted), across tenants. A
// reader acquires an event's bytes before queueing it, and waits while the
// budget is spent, which stops it reading: 8x8 keeps the events meanwhile.
// The admitter releases them once the scheduler took the events (and
// counts them in its own bound). The budget is soft by one event, so an
// event larger than it still passes when the budget is not spent.
type byteBudget struct {
	max int64

	mu    sync.Mutex
	held  int64
	space chan struct{} // closed and replaced when bytes are released
}

func newByteBudget(max int64) *byteBudget {
	return &byteBudget{max: max, space: make(chan struct{})}
}

// acquire takes n bytes, waiting while the budget is spent, until ctx ends.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	for b.held >= b.max {
		wait := b.space
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.mu.Lock()
	}
	b.held += n
	b.mu.Unlock()
	return nil
}

// release gives back n bytes taken by acquire.
func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.held -= n
	close(b.space)
	b.space = make(chan struct{})
	b.mu.Unlock()
}

// bytes is what is held now.
func (b *byteBudget) bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}
