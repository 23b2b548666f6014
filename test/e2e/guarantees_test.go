package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/test/stack"
)

// TestRegalDownLongerThanRetryBudgetDeadLettersThenReplayDelivers: an
// event that Regal refuses past its retry budget is kept as a dead letter
// with its last error and attempt count, and a replay after Regal recovers
// delivers it.
func TestRegalDownLongerThanRetryBudgetDeadLettersThenReplayDelivers(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 1, Mutate: func(c *config.Config) {
		c.Collector.Scheduler.MaxAttempts = 4
		c.Dispatcher.Regal.MaxAttempts = 2
	}})
	outage := make([]int, 4)
	for i := range outage {
		outage[i] = 503
	}
	s.Regal.SetStatusSequence(outage...)
	call := scriptedFlows()[0]
	if err := s.SAPI.Publish(tenant, call.Events[0]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var dead []eventstore.DeadEntry
	for len(dead) == 0 {
		var err error
		if dead, err = s.Collector.Store().DeadLetters(ctx, tenant, eventstore.DeadLetterFilter{}, 0); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal("the event was not dead-lettered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := dead[0]
	if d.Event.GetInteractionId() != call.InteractionID || d.Attempts != 4 || d.Status != 503 ||
		!strings.Contains(d.Reason, "retry budget spent") {
		t.Fatalf("dead letter: interaction %s, attempts %d, status %d, reason %q", d.Event.GetInteractionId(), d.Attempts, d.Status, d.Reason)
	}
	if n := s.Regal.Count(); n != 0 {
		t.Fatalf("Regal accepted %d events during the outage", n)
	}

	// Regal is back (the scripted 503s are used up): replay the interaction.
	dry, err := s.Collector.ReplayDeadLetters(ctx, tenant, eventstore.DeadLetterFilter{InteractionID: call.InteractionID}, true)
	if err != nil || len(dry.Matched) != 1 || dry.Replayed != 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	res, err := s.Collector.ReplayDeadLetters(ctx, tenant, eventstore.DeadLetterFilter{InteractionID: call.InteractionID}, false)
	if err != nil || res.Replayed != 1 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	got := waitRegal(t, s, 1)
	if got[0].Event.Name != "Interaction Created" || got[0].Event.Properties["interaction_id"] != call.InteractionID {
		t.Fatalf("Regal got %s for %v", got[0].Event.Name, got[0].Event.Properties["interaction_id"])
	}
	if left, _ := s.Collector.Store().DeadLetters(ctx, tenant, eventstore.DeadLetterFilter{}, 0); len(left) != 0 {
		t.Fatalf("%d dead letters left after replay", len(left))
	}
}

// TestDispatcherKilledMidSendLosesNothing: a dispatcher that dies while its
// Regal request is in flight has the event delivered again by another
// dispatcher, and the interaction's later events follow in order.
func TestDispatcherKilledMidSendLosesNothing(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2})
	call := scriptedFlows()[1]
	// Hold the first Regal request long enough to kill its dispatcher.
	s.Regal.SetFaults(regaldouble.Fault{Delay: 3 * time.Second})
	if err := s.SAPI.Publish(tenant, call.Events...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for s.Regal.Requests() == 0 {
		if ctx.Err() != nil {
			t.Fatal("no dispatcher took the first event")
		}
		time.Sleep(2 * time.Millisecond)
	}
	victim := -1
	for i, d := range s.Dispatchers {
		if s.Collector.Scheduler().Stats().InFlightBy[d.ID()] > 0 {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("no dispatcher holds the in-flight event")
	}
	// Kill: no grace, in-flight work is abandoned mid-request.
	dead, kcancel := context.WithCancel(context.Background())
	kcancel()
	_ = s.Dispatchers[victim].Shutdown(dead)

	want := expect(t, call.Events)
	if err := s.Regal.WaitCount(ctx, len(want)); err != nil {
		t.Fatalf("Regal received %d of %d events after the kill: %v", s.Regal.Count(), len(want), err)
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	// Every event arrived; the first one possibly twice (Regal may have taken
	// the abandoned request), and the order of first arrivals is the call's.
	var firsts []string
	seen := map[string]bool{}
	for _, r := range s.Regal.Received() {
		key := r.Event.Name + "|" + r.Event.OriginalTimestamp
		if !seen[key] {
			seen[key] = true
			firsts = append(firsts, r.Event.Name)
		}
	}
	var wantNames []string
	for _, e := range want {
		wantNames = append(wantNames, regalName(e.event))
	}
	if strings.Join(firsts, ",") != strings.Join(wantNames, ",") {
		t.Fatalf("first arrivals %v, want %v", firsts, wantNames)
	}
	if n, _ := s.Collector.Store().DeadLetterCount(ctx, tenant); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// TestCollectorRestartMidCallKeepsOrderAndLosesNothing: events published
// while the collector is down are replayed by 8x8 (the double buffers them
// per subsId), events left unsettled are delivered by the new collector,
// and the call reaches Regal once per event, in order.
func TestCollectorRestartMidCallKeepsOrderAndLosesNothing(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2})
	call := scriptedFlows()[1]
	half := len(call.Events) / 2
	if err := s.SAPI.Publish(tenant, call.Events[:half]...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Regal.WaitCount(ctx, len(expect(t, call.Events[:half]))); err != nil {
		t.Fatal(err)
	}
	stopCollector(ctx, t, s)
	// Published while the collector is down: buffered by 8x8 for the subsId.
	if err := s.SAPI.Publish(tenant, call.Events[half:]...); err != nil {
		t.Fatal(err)
	}
	if err := s.StartCollector(ctx); err != nil {
		t.Fatal(err)
	}
	want := expect(t, call.Events)
	got := waitRegal(t, s, len(want))
	for i, r := range got {
		if r.Event.Name != regalName(want[i].event) {
			t.Fatalf("Regal event %d is %s, want %s", i, r.Event.Name, regalName(want[i].event))
		}
	}
}

// stopCollector stops the collector and waits until 8x8 (the double) sees
// its stream closed, so that what is published next is buffered for the
// subscription.
func stopCollector(ctx context.Context, t *testing.T, s *stack.Stack) {
	t.Helper()
	if err := s.StopCollector(ctx); err != nil {
		t.Fatal(err)
	}
	for s.SAPI.Subscribers(tenant) > 0 {
		if ctx.Err() != nil {
			t.Fatal("the collector's SAPI stream did not close")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
