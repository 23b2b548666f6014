package timeline_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

func published(n int, phone string) []timeline.Published {
	out := make([]timeline.Published, n)
	for i := range out {
		out[i] = timeline.Published{Change: timeline.Change{Type: timeline.ChangeReceived, Event: &eventv1.Event{EventType: "InteractionCreated"}},
			Dims: timeline.Dims{Phone: phone}}
	}
	return out
}

func TestHubHandsMatchingChangesToEachWatcherInOrder(t *testing.T) {
	hub := timeline.NewHub()
	all := hub.Watch(10, nil)
	defer all.Close()
	onePhone := hub.Watch(10, func(p *timeline.Published) bool { return p.Dims.Phone == "+12015550111" })
	defer onePhone.Close()
	hub.Publish(append(published(2, "+12015550111"), published(3, "+12015550122")...))
	if got := len(all.Changes()); got != 5 {
		t.Fatalf("unfiltered watcher got %d changes, want 5", got)
	}
	if got := len(onePhone.Changes()); got != 2 {
		t.Fatalf("filtered watcher got %d changes, want 2", got)
	}
}

func TestSlowWatcherIsDroppedWithoutSlowingThePublisher(t *testing.T) {
	hub := timeline.NewHub()
	slow := hub.Watch(4, nil) // never reads
	defer slow.Close()
	fast := hub.Watch(1<<16, nil)
	defer fast.Close()
	start := time.Now()
	for range 1000 {
		hub.Publish(published(10, ""))
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("publishing 10000 changes took %v", took)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("the slow watcher was not dropped")
	}
	if !errors.Is(slow.Err(), timeline.ErrTooSlow) {
		t.Fatalf("slow watcher error: %v", slow.Err())
	}
	if len(fast.Changes()) != 10000 || fast.Err() != nil {
		t.Fatalf("fast watcher got %d changes, err %v", len(fast.Changes()), fast.Err())
	}
	if hub.Watchers() != 1 {
		t.Fatalf("%d watchers registered, want 1", hub.Watchers())
	}
}

func TestClosedWatcherIsUnregistered(t *testing.T) {
	hub := timeline.NewHub()
	w := hub.Watch(1, nil)
	w.Close()
	w.Close()
	hub.Publish(published(5, ""))
	if hub.Watchers() != 0 || w.Err() != nil {
		t.Fatalf("watchers %d, err %v", hub.Watchers(), w.Err())
	}
}
