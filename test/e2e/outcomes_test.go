package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/test/stack"
)

// pausedOnDispatchers sums ccb_dispatcher_tenant_paused of the tenant with
// the reason over every dispatcher's /metrics.
func pausedOnDispatchers(t *testing.T, s *stack.Stack, reason string) float64 {
	t.Helper()
	var n float64
	for _, d := range s.Dispatchers {
		m := scrape(t, "http://"+s.Metrics[d.ID()].Addr())
		labels := []string{`tenant="` + tenant + `"`}
		if reason != "" {
			labels = append(labels, `reason="`+reason+`"`)
		}
		n += sum(m, "ccb_dispatcher_tenant_paused", labels...)
	}
	return n
}

func deadLetterCount(t *testing.T, s *stack.Stack) int64 {
	t.Helper()
	n, err := s.Collector.Store().DeadLetterCount(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWrongRegalKeyPausesTheTenantThenResumesInOrder runs the tenant with
// a key Regal refuses (401) for a while, then makes it work again: nothing
// is dead-lettered or lost, every interaction reaches Regal once and in
// order, and the pause shows on /metrics (ccb_dispatcher_tenant_paused,
// which CCBridgeRegalTenantPaused alerts on) while it lasts.
func TestWrongRegalKeyPausesTheTenantThenResumesInOrder(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2, Mutate: func(c *config.Config) {
		c.Dispatcher.Regal.PauseProbeInterval = 200 * time.Millisecond
		// A pause far longer than this budget spends none of it.
		c.Collector.Scheduler.MaxAttempts = 2
	}})
	s.Regal.RevokeKeys(0) // the tenant's key, as after a rotation at Regal
	calls := scenario.Mix(11, tenant, 16, time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC))
	events := scenario.Interleave(calls, 5)
	want := expect(t, events)
	if len(want) < 40 {
		t.Fatalf("the scenario maps only %d events to Regal", len(want))
	}
	if err := s.SAPI.Publish(tenant, events...); err != nil {
		t.Fatal(err)
	}

	colURL := "http://" + s.Metrics["collector"].Addr()
	poll.Until(t, "the pause on a dispatcher's /metrics", func() bool { return pausedOnDispatchers(t, s, "unauthorized") >= 1 })
	poll.Until(t, "the pause on the collector's /metrics", func() bool {
		return sum(scrape(t, colURL), "ccb_collector_tenant_paused", `tenant="`+tenant+`"`) == 1
	})
	// A while: the paused tenant is probed, at a slow pace, with real
	// events, and Regal refuses each probe.
	refusedAtPause := s.Regal.Stats().ByReason[regaldouble.ReasonUnauthorized]
	poll.Until(t, "three refused probes", func() bool {
		return s.Regal.Stats().ByReason[regaldouble.ReasonUnauthorized] >= refusedAtPause+3
	})
	if n := deadLetterCount(t, s); n != 0 {
		t.Fatalf("%d dead letters while the key is refused, want 0", n)
	}
	if n := s.Regal.Count(); n != 0 {
		t.Fatalf("Regal accepted %d events with a revoked key", n)
	}

	s.Regal.RevokeKeys() // the key works again
	got := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, got, want)
	if n := deadLetterCount(t, s); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	poll.Until(t, "the pause to end on every /metrics", func() bool {
		return pausedOnDispatchers(t, s, "unauthorized") == 0 &&
			sum(scrape(t, colURL), "ccb_collector_tenant_paused", `tenant="`+tenant+`"`) == 0
	})
	if st := s.Collector.Scheduler().Stats(); len(st.Paused) != 0 {
		t.Errorf("the collector still pauses %v", st.Paused)
	}
}

// TestDeadLetterHoldsItsInteractionUntilReplayedInOrder dead-letters one
// event of an interaction (Regal answers 400 naming what is wrong with
// it): the interaction's later events wait, also across a collector
// restart, while other interactions flow; replayed, the event is delivered
// first and Regal receives the whole interaction in order.
func TestDeadLetterHoldsItsInteractionUntilReplayedInOrder(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 2})
	calls := scriptedFlows()
	target := calls[1]
	wantTarget := expect(t, target.Events)
	if len(wantTarget) < 4 {
		t.Fatalf("the target call maps only %d events", len(wantTarget))
	}
	refusedName := regalName(wantTarget[1].event)
	if err := s.Regal.SetRejections(regaldouble.Rejection{Phone: target.Phone, Name: refusedName,
		Message: "properties.queue_name: value refused"}); err != nil {
		t.Fatal(err)
	}
	events := scenario.Interleave(calls, 9)
	want := expect(t, events)
	if err := s.SAPI.Publish(tenant, events...); err != nil {
		t.Fatal(err)
	}

	// Everything but the target's refused event and those after it.
	got := waitRegal(t, s, len(want)-(len(wantTarget)-1))
	var targetGot []string
	for _, r := range got {
		if r.Event.Properties["interaction_id"] == target.InteractionID {
			targetGot = append(targetGot, r.Event.Name)
		}
	}
	if len(targetGot) != 1 || targetGot[0] != regalName(wantTarget[0].event) {
		t.Fatalf("Regal got %v of the target interaction, want only its first event before the refused one", targetGot)
	}
	ctx := context.Background()
	dead, err := s.Collector.Store().DeadLetters(ctx, tenant, eventstore.DeadLetterFilter{}, 0)
	if err != nil || len(dead) != 1 || !dead[0].Holds || dead[0].Status != 400 || dead[0].Event.GetInteractionId() != target.InteractionID {
		t.Fatalf("dead letters %+v (%v), want the refused event, holding its interaction", dead, err)
	}
	colURL := "http://" + s.Metrics["collector"].Addr()
	if n := sum(scrape(t, colURL), "ccb_collector_held_interactions", `tenant="`+tenant+`"`); n != 1 {
		t.Fatalf("ccb_collector_held_interactions = %v, want 1", n)
	}

	// A collector restart keeps holding: recovery must not release the
	// held events.
	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.StopCollector(stopCtx); err != nil {
		t.Fatal(err)
	}
	if err := s.StartCollector(stopCtx); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the restarted collector to hold the interaction", func() bool {
		return s.Collector.Scheduler().Stats().Held[tenant] == 1
	})
	if err := s.WaitIdle(stopCtx); err != nil {
		t.Fatal(err)
	}
	if n := s.Regal.Count(); n != len(got) {
		t.Fatalf("after the restart Regal has %d events, want still %d: the held events must wait", n, len(got))
	}

	// Fixed (Regal takes the event now): replay the interaction.
	if err := s.Regal.SetRejections(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Collector.ReplayDeadLetters(ctx, tenant, eventstore.DeadLetterFilter{InteractionID: target.InteractionID}, false)
	if err != nil || res.Replayed != 1 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	all := waitRegal(t, s, len(want))
	assertOncePerInteractionInOrder(t, all, want)
	if n := deadLetterCount(t, s); n != 0 {
		t.Errorf("%d dead letters after the replay, want 0", n)
	}
	if st := s.Collector.Scheduler().Stats(); st.Held[tenant] != 0 {
		t.Errorf("still held after the replay: %v", st.Held)
	}
}

// TestDeadLetterBoundDropsTheOldestLetterAndReleasesItsInteraction bounds
// the dead-letter stream to one entry: when a second interaction's event is
// dead-lettered, the first letter is dropped for good (counted on
// /metrics), and the interaction it held goes on without it, in order.
func TestDeadLetterBoundDropsTheOldestLetterAndReleasesItsInteraction(t *testing.T) {
	s := startStack(t, stack.Options{Dispatchers: 1, Mutate: func(c *config.Config) {
		c.Collector.Store.Partitions = 1 // one dead-letter stream
		c.Collector.Store.DeadLetterMaxLen = 1
		c.Collector.Store.DeadLetterCheckInterval = time.Second // the shortest allowed
	}})
	calls := scriptedFlows()
	first, second := calls[0], calls[1]
	wantFirst, wantSecond := expect(t, first.Events), expect(t, second.Events)
	refuse := func(c scenario.Call, w []expectation) regaldouble.Rejection {
		return regaldouble.Rejection{Phone: c.Phone, Name: regalName(w[1].event), Message: "properties.queue_name: value refused"}
	}
	if err := s.Regal.SetRejections(refuse(first, wantFirst), refuse(second, wantSecond)); err != nil {
		t.Fatal(err)
	}
	colURL := "http://" + s.Metrics["collector"].Addr()
	if err := s.SAPI.Publish(tenant, first.Events...); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the first interaction held", func() bool { return s.Collector.Scheduler().Stats().Held[tenant] == 1 })
	poll.Until(t, "the stream at its length bound on /metrics", func() bool {
		return sum(scrape(t, colURL), "ccb_collector_dead_letters_bound_ratio", `tenant="`+tenant+`"`, `bound="length"`) == 1
	})
	if err := s.SAPI.Publish(tenant, second.Events...); err != nil {
		t.Fatal(err)
	}
	// The second letter pushes the first out: the first interaction goes on
	// without its dropped event; the second is held.
	got := waitRegal(t, s, len(wantFirst)-1+1)
	var firstGot []string
	for _, r := range got {
		if r.Event.Properties["interaction_id"] == first.InteractionID {
			firstGot = append(firstGot, r.Event.Name)
		}
	}
	var wantNames []string
	for i, w := range wantFirst {
		if i != 1 {
			wantNames = append(wantNames, regalName(w.event))
		}
	}
	if strings.Join(firstGot, ",") != strings.Join(wantNames, ",") {
		t.Fatalf("first interaction at Regal: %v, want %v (all but the dropped event, in order)", firstGot, wantNames)
	}
	dead, err := s.Collector.Store().DeadLetters(context.Background(), tenant, eventstore.DeadLetterFilter{}, 0)
	if err != nil || len(dead) != 1 || dead[0].Event.GetInteractionId() != second.InteractionID || !dead[0].Holds {
		t.Fatalf("dead letters %+v (%v), want only the second interaction's, holding it", dead, err)
	}
	if st := s.Collector.Scheduler().Stats(); st.Held[tenant] != 1 {
		t.Fatalf("held %v, want the second interaction only", st.Held)
	}
	poll.Until(t, "the dropped letter counted on /metrics", func() bool {
		return sum(scrape(t, colURL), "ccb_collector_dead_letters_trimmed_total", `tenant="`+tenant+`"`, `bound="length"`) == 1
	})
}
