package intake

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestByteBudget(t *testing.T) {
	tests := []struct {
		name     string
		max      int64
		held     []int64 // acquired first, none released
		next     int64
		waits    bool
		heldThen int64
	}{
		{"below the bound takes at once", 100, []int64{40}, 30, false, 70},
		{"soft by one: crossing the bound still takes", 100, []int64{90}, 50, false, 140},
		{"an event larger than the bound takes an empty budget", 100, nil, 1000, false, 1000},
		{"a spent budget waits", 100, []int64{100}, 1, true, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newByteBudget(tt.max)
			for _, n := range tt.held {
				if err := b.acquire(context.Background(), n); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			err := b.acquire(ctx, tt.next)
			if waited := errors.Is(err, context.DeadlineExceeded); waited != tt.waits {
				t.Fatalf("acquire(%d) = %v, want waiting %v", tt.next, err, tt.waits)
			}
			if got := b.bytes(); got != tt.heldThen {
				t.Fatalf("held %d, want %d", got, tt.heldThen)
			}
		})
	}
}

func TestByteBudgetWaiterTakesWhatIsReleased(t *testing.T) {
	b := newByteBudget(100)
	if err := b.acquire(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.acquire(context.Background(), 60) }()
	select {
	case err := <-done:
		t.Fatalf("acquire on a spent budget returned %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	b.release(100)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting acquire did not take the released bytes")
	}
	if got := b.bytes(); got != 60 {
		t.Fatalf("held %d, want 60", got)
	}
}
