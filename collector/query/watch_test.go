package query_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/poll"
)

// watch opens a watch and waits until the server has registered it.
func watch(t *testing.T, ctx context.Context, c queryv1.QueryServiceClient, req *queryv1.WatchEventsRequest) queryv1.QueryService_WatchEventsClient {
	t.Helper()
	w, err := c.WatchEvents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Header(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWatchEventsDeliversNewEventsWithin100ms(t *testing.T) {
	h := startHarness(t, harnessOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := watch(t, ctx, h.client, &queryv1.WatchEventsRequest{Parent: "tenants/" + tenant})
	lines := newDay(60).interactionLines()[:300] // agent events are not kept, so not watched
	latencies := make([]time.Duration, 0, len(lines))
	for _, l := range lines {
		h.publish(t, []line{l})
		if _, err := w.Recv(); err != nil {
			t.Fatal(err)
		}
		latencies = append(latencies, time.Since(h.stored))
		// Events a moment apart, as a live feed sends them: each finds the
		// watcher idle, waiting on Redis.
		time.Sleep(time.Millisecond)
	}
	slices.Sort(latencies)
	p50, p99, worst := latencies[len(latencies)/2], latencies[len(latencies)*99/100], latencies[len(latencies)-1]
	t.Logf("stored in Redis → received by a gRPC watcher, %d events: p50 %v, p99 %v, max %v", len(latencies), p50, p99, worst)
	if p99 > 100*time.Millisecond {
		t.Fatalf("p99 %v above 100ms", p99)
	}
}

func TestWatchEventsCatchesUpThenFollowsOnlyMatchingChanges(t *testing.T) {
	h := startHarness(t, harnessOptions{})
	d := newDay(8)
	before, after := d.calls[:3], d.calls[3:5]
	for _, c := range before {
		h.publish(t, c.lines)
	}
	first := d.find(func(c scriptedCall) bool { return uniquePhone(c, d.calls) })
	// Every change of the first calls is written before the watch starts:
	// one written after it would arrive live as well as in the catch-up,
	// which sends an event once only when it was received in the minute
	// before the watch (catchUpOverlap), and these were received, as
	// scripted, hours ago.
	poll.Until(t, "the first calls recorded", func() bool {
		resp, err := h.client.ListInteractions(callCtx(t), &queryv1.ListInteractionsRequest{Parent: "tenants/" + tenant})
		return err == nil && len(resp.GetInteractions()) == len(before) &&
			len(pageEvents(t, h, &queryv1.ListEventsRequest{Parent: "tenants/" + tenant,
				Filter: &queryv1.Filter{PhoneNumber: first.phone}})) == len(first.events)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := watch(t, ctx, h.client, &queryv1.WatchEventsRequest{Parent: "tenants/" + tenant,
		Filter: &queryv1.Filter{PhoneNumber: first.phone, StartTime: ts(d.base)}})
	var caughtUp []string
	for range first.events {
		resp, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetChangeType() != queryv1.ChangeType_CHANGE_TYPE_RECEIVED || resp.GetDedupVerdict() != queryv1.DedupVerdict_DEDUP_VERDICT_NEW {
			t.Fatalf("catch-up sent %v", resp)
		}
		caughtUp = append(caughtUp, idOf(resp.GetEvent().GetName()))
	}
	if !slices.Equal(caughtUp, first.events) {
		t.Fatalf("catch-up sent %v\nwant the first call's events oldest first %v", caughtUp, first.events)
	}
	for _, c := range after {
		h.publish(t, c.lines)
	}
	h.publish(t, first.lines[:1]) // the first call's first event again: a duplicate
	resp, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if idOf(resp.GetEvent().GetName()) != first.events[0] || resp.GetChangeType() != queryv1.ChangeType_CHANGE_TYPE_RECEIVED ||
		resp.GetDedupVerdict() == queryv1.DedupVerdict_DEDUP_VERDICT_NEW || resp.GetEvent().GetDedup().GetSightings() < 2 {
		t.Fatalf("after other phones' calls, the watch sent %v; want only the duplicate of %s", resp, first.events[0])
	}
}

func TestSlowWatcherIsDisconnectedAndNeverSlowsThePipeline(t *testing.T) {
	// A watcher may fall 1000 changes behind: more than one admission
	// batch, far less than one phase of the script.
	h := startHarness(t, harnessOptions{WatchBuffer: 1000})
	all := newDay(1050).interactionLines()
	third := len(all) / 3
	parent := "tenants/" + tenant
	recorded := 0
	publish := func(lines []line) time.Duration {
		start := time.Now()
		for i := 0; i < len(lines); i += 100 {
			h.publish(t, lines[i:min(i+100, len(lines))])
		}
		took := time.Since(start)
		recorded += len(lines)
		h.waitRecorded(t, int64(recorded))
		return took
	}

	alone := publish(all[:third])

	slowCtx, stopSlow := context.WithCancel(context.Background())
	defer stopSlow()
	// A client that never reads, with fixed 64 KiB flow-control windows:
	// the server's sends to it block once 64 KiB are in flight.
	slowClient := queryv1.NewQueryServiceClient(dialQuery(t, h.query.Addr(), queryToken,
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
	slow := watch(t, slowCtx, slowClient, &queryv1.WatchEventsRequest{Parent: parent}) // never read
	withStalled := publish(all[third : 2*third])

	fastCtx, stopFast := context.WithCancel(context.Background())
	defer stopFast()
	fast := watch(t, fastCtx, h.client, &queryv1.WatchEventsRequest{Parent: parent})
	var received atomic.Int64
	fastDone := make(chan error, 1)
	go func() {
		for {
			if _, err := fast.Recv(); err != nil {
				fastDone <- err
				return
			}
			received.Add(1)
		}
	}()
	// The live watcher keeps up (paced by batch: on a loaded test machine
	// it could fall a whole buffer behind, and be dropped, as it should).
	live := all[2*third:]
	for i := 0; i < len(live); i += 100 {
		publish(live[i:min(i+100, len(live))])
		want := int64(min(i+100, len(live)))
		poll.Until(t, "the live watcher to receive every change", func() bool {
			select {
			case err := <-fastDone:
				t.Fatalf("the live watcher ended after %d changes: %v", received.Load(), err)
			default:
			}
			return received.Load() == want
		})
	}
	st := h.rec.Stats()
	t.Logf("events stored: %d without watchers in %v, %d with a stalled watcher in %v; recorder %+v; then a live watcher got all %d of the next events",
		third, alone, third, withStalled, st, received.Load())
	if st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("the recorder lost changes: %+v", st)
	}
	// The stalled watcher was dropped: it gets what its stream buffered,
	// then RESOURCE_EXHAUSTED.
	var err error
	for err == nil {
		_, err = slow.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stalled watcher ended with %v, want ResourceExhausted", err)
	}
	stopFast()
	<-fastDone
}
