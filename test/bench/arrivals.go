package bench

import (
	"context"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/test/chaos"
)

// arrivals is what Regal received, matched with what was published.
type arrivals struct {
	flow      Flow
	latencies []time.Duration // one per delivered event, first copy
	bodies    [][]byte        // up to maxCeilingBodies request bodies
}

// matchArrivals reads every request Regal accepted and matches it, by
// key, with the line it came from. The Regal double stamps a request
// after holding it back for its configured latency; regalLatency is
// taken off each latency sample so that it ends when the request arrived.
func matchArrivals(ctx context.Context, h *chaos.Harness, pub *publisher, regalLatency time.Duration) (*arrivals, error) {
	a := &arrivals{flow: Flow{SAPILines: int(pub.published.Load()), RegalExpected: int(pub.expected.Load()),
		PublishSeconds: pub.publishSeconds()}}
	seen := make(map[eventKey]struct{}, a.flow.RegalExpected)
	var last time.Time
	err := eachReceived(ctx, h.RegalURL(), func(r regaldouble.ReceivedEvent) error {
		if len(a.bodies) < maxCeilingBodies {
			a.bodies = append(a.bodies, r.Body)
		}
		regalKey, err := chaos.RegalKeyOfBody(r.Body)
		if err != nil {
			a.flow.Unknown++
			return nil
		}
		key := keyOf(regalKey)
		sent, ok := pub.sentAtOf(key)
		switch _, again := seen[key]; {
		case !ok:
			a.flow.Unknown++
		case again:
			a.flow.Duplicates++
		default:
			seen[key] = struct{}{}
			a.flow.RegalDelivered++
			a.latencies = append(a.latencies, r.At.Sub(sent)-regalLatency)
			if r.At.After(last) {
				last = r.At
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.flow.Lost = a.flow.RegalExpected - a.flow.RegalDelivered
	if first := pub.firstSent(); !last.IsZero() && last.After(first) {
		f := &a.flow
		f.Seconds = last.Sub(first).Seconds()
		f.RegalEventsPerSec = float64(f.RegalDelivered) / f.Seconds
		f.SAPILinesPerSecond = float64(f.SAPILines) / f.Seconds
	}
	return a, nil
}
