package timeline

import (
	"errors"
	"sync"
)

// ErrTooSlow ends a watch whose watcher did not keep up: its buffer was
// full when a change had to be handed over, and the change was not waited
// for.
var ErrTooSlow = errors.New("timeline: watcher too slow, changes were dropped")

// Hub fans written changes out to watchers. Publish never blocks: a
// watcher whose buffer is full is dropped (its Done closes with
// ErrTooSlow), so a slow watcher cannot slow the collector down. Safe for
// concurrent use.
type Hub struct {
	mu       sync.Mutex
	watchers map[*Watcher]struct{}
}

// NewHub returns a hub without watchers.
func NewHub() *Hub { return &Hub{watchers: map[*Watcher]struct{}{}} }

// Watcher receives the published changes its match function accepts.
type Watcher struct {
	hub   *Hub
	match func(*Published) bool
	ch    chan Published
	done  chan struct{}
	once  sync.Once
	err   error // written before done is closed
}

// Watch registers a watcher with room for buffer changes; match (nil for
// all) selects them and must be fast, it runs on the publisher's
// goroutine. Close the watcher when done.
func (h *Hub) Watch(buffer int, match func(*Published) bool) *Watcher {
	if buffer < 1 {
		buffer = 1
	}
	if match == nil {
		match = func(*Published) bool { return true }
	}
	w := &Watcher{hub: h, match: match, ch: make(chan Published, buffer), done: make(chan struct{})}
	h.mu.Lock()
	h.watchers[w] = struct{}{}
	h.mu.Unlock()
	return w
}

// Publish hands changes to every watcher that wants them, without waiting.
func (h *Hub) Publish(changes []Published) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		for i := range changes {
			if !w.match(&changes[i]) {
				continue
			}
			select {
			case w.ch <- changes[i]:
			default:
				delete(h.watchers, w)
				w.stop(ErrTooSlow)
			}
			if w.Err() != nil {
				break
			}
		}
	}
}

// Watchers is the number of registered watchers.
func (h *Hub) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}

// Changes delivers the watcher's changes in publication order.
func (w *Watcher) Changes() <-chan Published { return w.ch }

// Done is closed when the watcher is closed or dropped; Err says which.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Err is ErrTooSlow when the watcher was dropped, nil otherwise.
func (w *Watcher) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// Close unregisters the watcher. Idempotent.
func (w *Watcher) Close() {
	w.hub.mu.Lock()
	delete(w.hub.watchers, w)
	w.hub.mu.Unlock()
	w.stop(nil)
}

func (w *Watcher) stop(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.done)
	})
}
