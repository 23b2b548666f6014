package subscriber

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/poll"
)

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestDeliveryBytesTracksTheHeap checks the estimate of what a received
// delivery holds against the heap that decoded deliveries of 8x8 events
// (as the collector sends them: no raw frame, no attached data) keep
// alive: within a factor of two, and not below it by more than a quarter.
func TestDeliveryBytesTracksTheHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	r := rand.New(rand.NewPCG(3, 5))
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	call := scenario.OutboundCampaignAnswered(r, "acmecorp01", start)
	agent := scenario.AgentBreak(r, start)
	for name, line := range map[string][]byte{
		"interaction created": call.Events[0], "interaction deassigned": call.Events[len(call.Events)-2],
		"agent status": agent.Events[0],
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := sapi.Decode(line, "acmecorp01", "subs-1", start)
			if err != nil {
				t.Fatal(err)
			}
			ev.Raw, ev.AttachedData = nil, nil // what a dispatcher receives
			ev.TraceContext = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
			wire, err := proto.Marshal(&deliveryv1.Delivery{DeliveryId: 7, Event: ev,
				TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"}})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2000
			held := make([]*deliveryv1.Delivery, n)
			before := liveHeap()
			for i := range held {
				held[i] = &deliveryv1.Delivery{}
				if err := proto.Unmarshal(wire, held[i]); err != nil {
					t.Fatal(err)
				}
			}
			measured := float64(liveHeap()-before) / n
			estimate := float64(deliveryBytes(held[0]))
			runtime.KeepAlive(held)
			ratio := estimate / measured
			t.Logf("estimate %.0f B, heap %.0f B per delivery (×%.2f), encoded %d B", estimate, measured, ratio, len(wire))
			if ratio < 0.75 || ratio > 2 {
				t.Errorf("deliveryBytes %.0f is ×%.2f the heap a delivery keeps (%.0f B); want within [0.75, 2]", estimate, ratio, measured)
			}
		})
	}
}

func TestHeldBytesCountDeliveriesUntilDoneWith(t *testing.T) {
	f := startCollector(t)
	release := make(chan struct{})
	var running atomic.Int64
	handler := func(ctx context.Context, d *deliveryv1.Delivery) *deliveryv1.Ack {
		running.Add(1)
		<-release
		return delivered(ctx, d)
	}
	var held atomic.Int64
	// Two slots, two more sent ahead: all four held, two of them waiting.
	sub := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 2, Prefetch: 2}, handler, slog.New(slog.DiscardHandler), WithHeldBytes(&held))
	if err := sub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "a", "b", "c", "d")
	poll.Until(t, "four deliveries received, two running", func() bool { return sub.Stats().Deliveries == 4 && running.Load() == 2 })
	if n := held.Load(); n < 4*1024 {
		t.Fatalf("four deliveries held count %d bytes, want at least 4 KiB (about 1 KiB each and more)", n)
	}
	close(release)
	poll.Until(t, "every delivery settled", func() bool { return f.sink.count() == 4 })
	poll.Until(t, "nothing held", func() bool { return held.Load() == 0 })
	if err := sub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
