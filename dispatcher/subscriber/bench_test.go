package subscriber

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
)

// BenchmarkDeliveryStream measures an event's round trip over the gRPC
// delivery stream: collector sends, dispatcher handles (no work), acks,
// collector settles.
func BenchmarkDeliveryStream(b *testing.B) {
	f := startCollectorB(b)
	sub := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 256}, delivered, slog.New(slog.DiscardHandler))
	if err := sub.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Shutdown(context.Background()) }()
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = fmt.Sprint("int-", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(keys) {
		f.enqueueB(b, keys[:min(len(keys), b.N-i)]...)
		for f.sink.count() < min(i+len(keys), b.N) {
			runtime.Gosched()
		}
	}
}
