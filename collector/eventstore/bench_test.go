package eventstore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/redistest"
)

// BenchmarkAdmit measures the dedup decision and durable hand-off on a real
// redis-server, per event, in batches as the collector sends them, with
// events of a SAPI event's size (2.5 KB of frame plus attached data): AOF
// off, fsync every second, and fsync on every write (as deployed).
func BenchmarkAdmit(b *testing.B) {
	raw := []byte(`{"Interaction":{"event":"InteractionQueued","interactionGUID":"int-1","attachedData":"` +
		strings.Repeat("x", 2400) + `"}}`)
	attached := map[string]string{}
	for i := range 20 {
		attached[fmt.Sprint("key", i)] = fmt.Sprint("value-", i)
	}
	persistence := []struct {
		name string
		opts redistest.Options
	}{
		{name: "aof_off", opts: redistest.Options{}},
		{name: "fsync_everysec", opts: redistest.Options{AppendOnly: true, AppendFsync: "everysec"}},
		{name: "fsync_always", opts: redistest.Options{AppendOnly: true}},
	}
	for _, p := range persistence {
		for _, batch := range []int{1, 256} {
			b.Run(fmt.Sprintf("%s/batch_%d", p.name, batch), func(b *testing.B) {
				srv := redistest.Start(b, p.opts)
				s := newStore(nil, srv.Client(b), "bench")
				events := make([]*eventv1.Event, batch)
				b.ReportAllocs()
				b.SetBytes(int64(len(raw)))
				b.ResetTimer()
				for i := 0; i < b.N; i += batch {
					for j := range events {
						n := i + j
						events[j] = &eventv1.Event{Tenant: "acme", InteractionId: fmt.Sprint("int-", n%5000),
							OrderKey: fmt.Sprint("int-", n%5000), DedupKey: fmt.Sprint("k", n), Raw: raw, AttachedData: attached,
							TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
					}
					if _, err := s.Admit(context.Background(), events); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
