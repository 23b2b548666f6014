package eventstore

import (
	"context"
	"fmt"
	"testing"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/redistest"
)

// BenchmarkAdmit measures the dedup decision and durable hand-off on a real
// redis-server (AOF off), per event, in batches as the collector sends them.
func BenchmarkAdmit(b *testing.B) {
	for _, batch := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("batch_%d", batch), func(b *testing.B) {
			srv := redistest.Start(b, redistest.Options{})
			s := newStore(nil, srv.Client(b), "bench")
			raw := []byte(`{"Interaction":{"event":"InteractionQueued","interactionGUID":"int-1"}}`)
			events := make([]*eventv1.Event, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				for j := range events {
					n := i + j
					events[j] = &eventv1.Event{Tenant: "acme", InteractionId: fmt.Sprint("int-", n%5000),
						OrderKey: fmt.Sprint("int-", n%5000), DedupKey: fmt.Sprint("k", n), Raw: raw,
						TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
				}
				if _, err := s.Admit(context.Background(), events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
