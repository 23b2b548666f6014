package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/ccbridge/bridge/collector/eventstore"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// BenchmarkCycle measures one event's way through the scheduler: enqueue,
// hand-out to a session, ack, batched settlement, release of the key.
func BenchmarkCycle(b *testing.B) {
	s, err := New(DefaultConfig(), &settleSink{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = s.Start(context.Background())
	defer func() { _ = s.Shutdown(context.Background()) }()
	sess := s.Join("d1", 256)
	entries := make([]eventstore.Entry, b.N)
	for i := range entries {
		key := fmt.Sprint("int-", i%1000)
		entries[i] = eventstore.Entry{Ref: eventstore.Ref{Tenant: "acme", ID: fmt.Sprintf("%d-0", i+1)},
			Event: &eventv1.Event{OrderKey: key}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < len(entries); i += 256 {
			_ = s.Enqueue(context.Background(), entries[i:min(i+256, len(entries))])
		}
	}()
	for range b.N {
		d, err := sess.Next(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(sess, d.ID, Result{Outcome: Delivered}); err != nil {
			b.Fatal(err)
		}
	}
}
