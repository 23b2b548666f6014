package scheduler

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/internal/poll"
)

// entryOf is entry for another tenant.
func entryOf(tenant, key string) eventstore.Entry {
	e := entry(key)
	e.Ref.Tenant = tenant
	e.Event.Tenant = tenant
	return e
}

func ack(t *testing.T, s *Scheduler, sess *Session, d Delivery, res Result) {
	t.Helper()
	if err := s.Ack(sess, d.ID, res); err != nil {
		t.Fatal(err)
	}
}

func enqueue(t *testing.T, s *Scheduler, entries ...eventstore.Entry) {
	t.Helper()
	if err := s.Enqueue(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
}

func TestPausedOutcomeIsNotAnAttempt(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAttempts = 2
	sink := &settleSink{}
	s := newSched(t, cfg, sink)
	a := s.Join("d1", 1)
	e := entry("k")
	enqueue(t, s, e)
	// Far more "paused" answers than the attempt budget: none is counted,
	// even one that reports a request (a probe Regal refused).
	for i := range 5 {
		d := next(t, a)
		if d.Entry.Ref != e.Ref || d.Redelivery != i {
			t.Fatalf("delivery %d: %v (redelivery %d)", i, d.Entry.Ref, d.Redelivery)
		}
		ack(t, s, a, d, Result{Outcome: Paused, Attempts: 1, Status: 401, RetryAfter: time.Millisecond})
	}
	d := next(t, a)
	ack(t, s, a, d, Result{Outcome: FailedRetryable, Attempts: 1, Status: 503})
	d = next(t, a)
	ack(t, s, a, d, Result{Outcome: Delivered, Attempts: 1, Status: 200})
	poll.Until(t, "the settlement", func() bool { return len(sink.settled()) == 1 })
	if st := sink.settled()[0]; st.Dead != nil {
		t.Fatalf("dead-lettered after 5 paused answers and 1 failed attempt with a budget of 2: %+v", st.Dead)
	}
	if st := s.Stats(); len(st.Paused) != 0 {
		t.Fatalf("still paused after a delivery: %v", st.Paused)
	}
}

func TestPauseHoldsTheTenantAndOffersOneProbeAtATime(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	sess := s.Join("d1", 10)
	a1, a2, b1, c1 := entry("a"), entry("a"), entry("b"), entry("c")
	enqueue(t, s, a1, a2, b1, c1)
	first := map[string]Delivery{}
	for range 3 {
		d := next(t, sess)
		first[d.Entry.Event.GetOrderKey()] = d
	}
	// Regal refuses the key: the dispatcher answers "paused" for what it
	// held, and will probe in 200 ms.
	for _, k := range []string{"a", "b", "c"} {
		ack(t, s, sess, first[k], Result{Outcome: Paused, Reason: "tenant paused (unauthorized)", RetryAfter: 200 * time.Millisecond})
	}
	if st := s.Stats(); st.Paused["acme"] != 3 {
		t.Fatalf("paused %v, want acme with 3 interactions waiting", st.Paused)
	}
	// Another tenant is not held up.
	other := entryOf("other", "x")
	enqueue(t, s, other)
	if d := next(t, sess); d.Entry.Ref != other.Ref {
		t.Fatalf("delivery %v during the pause, want the other tenant's %v", d.Entry.Ref, other.Ref)
	} else {
		ack(t, s, sess, d, Result{Outcome: Delivered})
	}
	// After the delay, exactly one probe: the longest-waiting key's head.
	probe := next(t, sess)
	if probe.Entry.Ref != a1.Ref {
		t.Fatalf("probe %v, want %v", probe.Entry.Ref, a1.Ref)
	}
	noDelivery(t, sess)
	// The probe is refused again: the tenant stays paused, nothing moves
	// until the next probe, with the next waiting key.
	ack(t, s, sess, probe, Result{Outcome: Paused, RetryAfter: 50 * time.Millisecond})
	probe = next(t, sess)
	if probe.Entry.Ref != b1.Ref {
		t.Fatalf("second probe %v, want the next waiting key's %v", probe.Entry.Ref, b1.Ref)
	}
	noDelivery(t, sess)
	// The key works again: every waiting interaction goes on, in order.
	ack(t, s, sess, probe, Result{Outcome: Delivered, Status: 200})
	var got []eventstore.Ref
	for range 3 { // a1 and c1, then a2 once a1 is settled
		d := next(t, sess)
		got = append(got, d.Entry.Ref)
		ack(t, s, sess, d, Result{Outcome: Delivered})
	}
	poll.Until(t, "the buffer empty", func() bool { return s.Stats().Buffered == 0 })
	ia, ia2, ic := slices.Index(got, a1.Ref), slices.Index(got, a2.Ref), slices.Index(got, c1.Ref)
	if len(got) != 3 || ia < 0 || ic < 0 || ia2 < ia {
		t.Fatalf("after the pause got %v, want a1 then a2, and c1", got)
	}
}

// TestProbeSettledWithoutRegalKeepsTheTenantPaused: a probe settled
// without a Regal answer (skipped, or dead-lettered by the dispatcher
// before any request: no phone, not translatable) says nothing about the
// account: its key stays the probe, and the other key keeps waiting.
func TestProbeSettledWithoutRegalKeepsTheTenantPaused(t *testing.T) {
	tests := []struct {
		name   string
		answer Result
	}{
		{"skipped", Result{Outcome: Skipped, Reason: "unmapped_event"}},
		{"dead_lettered_without_a_request", Result{Outcome: FailedPermanent, Reason: "no usable customer phone (no_phone)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.DeadLetterPolicy = PolicySkip
			testProbeSettledWithoutRegal(t, cfg, tt.answer)
		})
	}
}

func testProbeSettledWithoutRegal(t *testing.T, cfg Config, answer Result) {
	s := newSched(t, cfg, &settleSink{})
	sess := s.Join("d1", 10)
	a1, a2, b1 := entry("a"), entry("a"), entry("b")
	enqueue(t, s, a1, a2, b1)
	da, db := next(t, sess), next(t, sess)
	ack(t, s, sess, da, Result{Outcome: Paused, RetryAfter: 10 * time.Millisecond})
	ack(t, s, sess, db, Result{Outcome: Paused, RetryAfter: 10 * time.Millisecond})
	probe := next(t, sess)
	ack(t, s, sess, probe, answer)
	d := next(t, sess)
	if d.Entry.Ref != a2.Ref {
		t.Fatalf("after a skipped probe got %v, want the same key's next event %v", d.Entry.Ref, a2.Ref)
	}
	noDelivery(t, sess)
	ack(t, s, sess, d, Result{Outcome: Delivered})
	if d := next(t, sess); d.Entry.Ref != b1.Ref {
		t.Fatalf("got %v, want %v once the pause ended", d.Entry.Ref, b1.Ref)
	}
}

func TestRestartedDispatcherProbesAPausedTenantAtOnce(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	old := s.Join("d1", 10)
	e := entry("k")
	enqueue(t, s, e)
	ack(t, s, old, next(t, old), Result{Outcome: Paused, RetryAfter: maxPauseDelay})
	s.Leave(old)
	// The dispatcher restarts, perhaps with a fixed key: the probe comes
	// now, not after the ten minutes it asked for.
	restarted := s.Join("d1", 10)
	if d := next(t, restarted); d.Entry.Ref != e.Ref {
		t.Fatalf("probe %v, want %v", d.Entry.Ref, e.Ref)
	}
}

func TestDeadLetterPolicy(t *testing.T) {
	tests := []struct {
		policy   string
		wantHold bool
	}{
		{PolicySkip, false},
		{PolicyHold, true},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			cfg := testConfig()
			cfg.DeadLetterPolicy = tt.policy
			sink := &settleSink{}
			s := newSched(t, cfg, sink)
			sess := s.Join("d1", 10)
			e1, e2, other := entry("k"), entry("k"), entry("o")
			enqueue(t, s, e1, e2, other)
			var d1 Delivery
			for range 2 {
				d := next(t, sess)
				if d.Entry.Ref == e1.Ref {
					d1 = d
					continue
				}
				ack(t, s, sess, d, Result{Outcome: Delivered})
			}
			ack(t, s, sess, d1, Result{Outcome: FailedPermanent, Reason: "regal 400: bad phone", Attempts: 1, Status: 400})
			poll.Until(t, "both settlements", func() bool { return len(sink.settled()) == 2 })
			var dead eventstore.Settlement
			for _, st := range sink.settled() {
				if st.Entry.Ref == e1.Ref {
					dead = st
				}
			}
			if dead.Dead == nil || dead.Dead.Hold != tt.wantHold {
				t.Fatalf("settlement %+v, want a dead letter with Hold %v", dead.Dead, tt.wantHold)
			}
			if !tt.wantHold {
				// Today's flow: the next event goes on at once.
				if d := next(t, sess); d.Entry.Ref != e2.Ref {
					t.Fatalf("got %v, want %v", d.Entry.Ref, e2.Ref)
				}
				return
			}
			noDelivery(t, sess)
			e3 := entry("k")
			enqueue(t, s, e3)
			noDelivery(t, sess)
			st := s.Stats()
			if st.Held["acme"] != 1 || st.Buffered != 0 {
				t.Fatalf("stats %+v, want k held and its events left in Redis", st)
			}
			// Replayed: the parked event is delivered first, then the rest.
			if err := s.Release("acme", "k", []eventstore.Entry{e1, e2, e3}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []eventstore.Entry{e1, e2, e3} {
				d := next(t, sess)
				if d.Entry.Ref != want.Ref {
					t.Fatalf("after release got %v, want %v", d.Entry.Ref, want.Ref)
				}
				ack(t, s, sess, d, Result{Outcome: Delivered})
			}
			if st := s.Stats(); len(st.Held) != 0 {
				t.Fatalf("still held: %v", st.Held)
			}
		})
	}
}

func TestReleaseLeavesEntriesNotYetEnqueuedToEnqueue(t *testing.T) {
	s := newSched(t, testConfig(), &settleSink{})
	sess := s.Join("d1", 10)
	e1, e2 := entry("k"), entry("k")
	s.Hold([]HeldKey{{Tenant: "acme", OrderKey: "k", From: e1.Ref.ID}})
	enqueue(t, s, e1)
	noDelivery(t, sess)
	// e2 is in Redis but not yet enqueued (admitted later): Release must
	// not schedule it, or Enqueue would schedule it twice.
	if err := s.Release("acme", "k", []eventstore.Entry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, e2)
	for _, want := range []eventstore.Entry{e1, e2} {
		d := next(t, sess)
		if d.Entry.Ref != want.Ref {
			t.Fatalf("got %v, want %v", d.Entry.Ref, want.Ref)
		}
		ack(t, s, sess, d, Result{Outcome: Delivered})
	}
	noDelivery(t, sess)
}

func TestConfigValidatesPolicyAndPauseDelay(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"defaults_hold", func(*Config) {}, true},
		{"skip", func(c *Config) { c.DeadLetterPolicy = PolicySkip }, true},
		{"unknown_policy", func(c *Config) { c.DeadLetterPolicy = "drop" }, false},
		{"empty_policy", func(c *Config) { c.DeadLetterPolicy = "" }, false},
		{"pause_delay_zero", func(c *Config) { c.PauseDelay = 0 }, false},
		{"pause_delay_too_long", func(c *Config) { c.PauseDelay = time.Hour }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestTenantsSharingAnOrderKeyArePausedAndHeldApart: order keys are unique
// within a tenant only (an agent id, a family root), so two tenants' events
// with one order key have their own queues: a pause or a hold of one
// tenant's key leaves the other's events alone.
func TestTenantsSharingAnOrderKeyArePausedAndHeldApart(t *testing.T) {
	tests := []struct {
		name   string
		answer Result // acme's answer for its first event
	}{
		{"pause", Result{Outcome: Paused, Reason: "tenant paused (unauthorized)", RetryAfter: time.Hour}},
		{"hold", Result{Outcome: FailedPermanent, Reason: "regal 400: bad event", Attempts: 1, Status: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSched(t, testConfig(), &settleSink{})
			sess := s.Join("d1", 10)
			a1, b1 := entryOf("acme", "agent:7"), entryOf("other", "agent:7")
			enqueue(t, s, a1, b1)
			byTenant := map[string]Delivery{}
			for range 2 {
				d := next(t, sess)
				byTenant[d.Entry.Ref.Tenant] = d
			}
			ack(t, s, sess, byTenant["acme"], tt.answer)
			ack(t, s, sess, byTenant["other"], Result{Outcome: Delivered, Status: 200})
			b2 := entryOf("other", "agent:7")
			enqueue(t, s, b2)
			if d := next(t, sess); d.Entry.Ref != b2.Ref {
				t.Fatalf("got %v, want the other tenant's next event %v", d.Entry.Ref, b2.Ref)
			}
			st := s.Stats()
			if _, ok := st.Paused["other"]; ok || st.Held["other"] != 0 {
				t.Fatalf("stats %+v: the other tenant is paused or held by acme's answer", st)
			}
		})
	}
}
