package intake_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/intake"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
)

const (
	tenant    = "acme"
	sapiToken = secret.Secret("sapi-token-for-intake-tests")
	prefix    = "it"
)

// env is what intake works with: a SAPI double serving tenant, a Redis,
// an event store and a started scheduler. Shared by the cases of a test.
type env struct {
	sapi  *sapidouble.Server
	rdb   redis.UniversalClient
	store *eventstore.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{rdb: redistest.Start(t, redistest.Options{}).Client(t)}
	e.sapi = sapidouble.New(sapidouble.Config{Tenants: map[string]sapidouble.Credentials{tenant: {Username: tenant, Token: sapiToken}}}, nil)
	if err := e.sapi.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sapi.Shutdown(context.Background()) })
	scfg := eventstore.DefaultConfig()
	scfg.KeyPrefix = prefix
	var err error
	if e.store, err = eventstore.New(e.rdb, scfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// scheduler returns a started scheduler over the env's store, shut down
// at the end of the test.
func (e *env) scheduler(t *testing.T) *scheduler.Scheduler {
	t.Helper()
	s, err := scheduler.New(scheduler.DefaultConfig(), e.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func (e *env) config() intake.Config {
	sc := sapi.Config{BaseURL: e.sapi.URL(), Tenant: tenant, Username: tenant, Token: sapiToken, SubscriptionID: "regal",
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}
	sc.SetDefaults()
	return intake.Config{Tenants: []intake.Tenant{{Name: tenant, SubscriptionID: "regal", SAPI: sc}},
		AdmitBatch: 16, PendingMaxBytes: 1 << 20, KeyPrefix: prefix}
}

func (e *env) newIntake(t *testing.T, sched *scheduler.Scheduler, opts ...intake.Option) *intake.Intake {
	t.Helper()
	in, err := intake.New(e.config(), e.rdb, e.store, sched, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func interactionEvent(i int) []byte {
	return fmt.Appendf(nil, `{"Interaction":{"event":"InteractionCreated","interactionGUID":"int-%d","interactionEventTS":%d}}`,
		i, 1724685483+i)
}

func TestIntakeLifecycle(t *testing.T) {
	e := newEnv(t)
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return e.newIntake(t, e.scheduler(t)) },
		// Start cannot fail: it launches the admitters, recovery and the
		// readers, which report their own trouble.
	})
}

func TestIntake_New_refuses_an_admit_batch_below_one(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.AdmitBatch = 0
	if _, err := intake.New(cfg, e.rdb, e.store, e.scheduler(t)); err == nil {
		t.Fatal("New accepted an admit batch of 0")
	}
}

// TestIntake_events_read_are_admitted_and_scheduled_after_recovery runs
// intake over an event an earlier run left unsettled: the step before
// recovery runs first, the recovered event is scheduled before the
// stream opens, and the events read then are admitted and scheduled
// after it, duplicates dropped.
func TestIntake_events_read_are_admitted_and_scheduled_after_recovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	left := eventv1.Event{Tenant: tenant, InteractionId: "int-earlier", EventType: "InteractionCreated", DedupKey: "earlier"}
	if _, err := e.store.Admit(ctx, []*eventv1.Event{&left}); err != nil {
		t.Fatal(err)
	}
	sched := e.scheduler(t)
	var before []string
	in := e.newIntake(t, sched, intake.WithBeforeRecover(func(_ context.Context, tn string) error {
		before = append(before, tn)
		if n := sched.Stats().Buffered; n != 0 {
			return fmt.Errorf("%d events scheduled before the step before recovery", n)
		}
		return nil
	}))
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	select {
	case <-in.Recovered(tenant):
	case <-time.After(10 * time.Second):
		t.Fatal("the tenant's recovery did not end")
	}
	if !slices.Equal(before, []string{tenant}) {
		t.Fatalf("the step before recovery ran for %q, want once for %q", before, tenant)
	}
	if st := in.Stats(); st.Recovered != 1 {
		t.Fatalf("recovered %d events, want the 1 left unsettled", st.Recovered)
	}
	if err := e.sapi.WaitSubscribed(ctx, tenant, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.sapi.Publish(tenant, interactionEvent(1), interactionEvent(2), interactionEvent(1)); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "two events admitted and one duplicate dropped", func() bool {
		st := in.Stats()
		return st.Admitted == 2 && st.Duplicates == 1
	})
	if st := in.Stats(); st.Received != 3 || st.Malformed != 0 {
		t.Errorf("stats %+v, want 3 received, none malformed", st)
	}
	if n := sched.Stats().Buffered; n != 3 {
		t.Errorf("scheduler holds %d events, want the recovered one and the 2 admitted", n)
	}
	if !in.Streaming()[tenant] {
		t.Errorf("Streaming() = %v, want %s streaming", in.Streaming(), tenant)
	}
	if err := in.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !in.ReadersStopped() {
		t.Error("ReadersStopped() = false after a Shutdown that returned nil")
	}
}

// TestIntake_Do_runs_in_the_admitter_of_a_known_tenant covers the entry
// other rooms use to schedule in stream order with admissions.
func TestIntake_Do_runs_in_the_admitter_of_a_known_tenant(t *testing.T) {
	e := newEnv(t)
	in := e.newIntake(t, e.scheduler(t))
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	tests := []struct {
		name    string
		tenant  string
		wantRan bool
	}{
		{"a_known_tenant_runs_the_op", tenant, true},
		{"an_unknown_tenant_is_refused", "globex", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			err := in.Do(context.Background(), tt.tenant, func() { ran = true })
			if ran != tt.wantRan || (err == nil) != tt.wantRan {
				t.Fatalf("Do ran %v, returned %v; want ran %v", ran, err, tt.wantRan)
			}
		})
	}
	if in.Recovered("globex") != nil {
		t.Error("Recovered of a tenant intake does not read is not nil")
	}
	if err := in.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := in.Do(context.Background(), tenant, func() { t.Error("op ran after Shutdown") }); err == nil {
		t.Error("Do after Shutdown returned nil, want the admitter's stop")
	}
}

// TestIntake_a_fenced_admission_is_not_retried_and_stops_the_reader: once
// another holder raised the tenant's fences, what the reader reads is
// refused by Redis; the admitter drops it instead of retrying for ever,
// the refusal stops the reader, and nothing of it is stored.
func TestIntake_a_fenced_admission_is_not_retried_and_stops_the_reader(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	scfg := eventstore.DefaultConfig()
	scfg.KeyPrefix = prefix
	var in *intake.Intake
	fenced := make(chan string, 16)
	store, err := eventstore.New(e.rdb, scfg,
		eventstore.WithFencing(func(string) (uint64, bool) { return 1, true }),
		eventstore.WithOnFenced(func(tn string) { fenced <- tn; in.StopReading(tn) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RaiseFence(ctx, tenant, 1); err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.New(scheduler.DefaultConfig(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sched.Shutdown(context.Background()) })
	in, err = intake.New(e.config(), e.rdb, store, sched)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.sapi.WaitSubscribed(waitCtx, tenant, 1); err != nil {
		t.Fatal(err)
	}

	// Another collector takes the tenant over.
	if err := e.store.RaiseFence(ctx, tenant, 2); err != nil {
		t.Fatal(err)
	}
	if err := e.sapi.Publish(tenant, interactionEvent(1)); err != nil {
		t.Fatal(err)
	}
	select {
	case tn := <-fenced:
		if tn != tenant {
			t.Fatalf("refusal reported for %q, want %q", tn, tenant)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the admission was not refused")
	}
	poll.Until(t, "the tenant's reader stopped", func() bool { return e.sapi.Subscribers(tenant) == 0 })
	if st := in.Stats(); st.Admitted != 0 || st.AdmitErrors != 0 {
		t.Fatalf("admitted %d, admit errors %d; want the refused batch dropped, not retried", st.Admitted, st.AdmitErrors)
	}
	for p := range store.Partitions() {
		if got, err := store.Unsettled(ctx, tenant, p, "", 10); err != nil || len(got) != 0 {
			t.Fatalf("partition %d holds %v (%v), want nothing stored", p, got, err)
		}
	}
	shutCtx, cancelShut := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShut()
	if err := in.Shutdown(shutCtx); err != nil {
		t.Fatalf("shutdown after the refusal: %v", err)
	}
}

// TestIntake_on_demand_opens_and_closes_a_tenant_and_opens_it_again: an
// on-demand intake opens nothing at Start; ServeTenant recovers and opens
// the tenant; UnserveTenant stops its reader, admits what was read and
// drops it from the scheduler; ServeTenant again recovers what the
// scheduler forgot and opens a new reader.
func TestIntake_on_demand_opens_and_closes_a_tenant_and_opens_it_again(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sched := e.scheduler(t)
	cfg := e.config()
	cfg.OnDemand = true
	in, err := intake.New(cfg, e.rdb, e.store, sched)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.ServeTenant(tenant); err == nil {
		t.Fatal("ServeTenant before Start succeeded")
	}
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	if in.Serving(tenant) {
		t.Fatal("an on-demand intake serves a tenant before ServeTenant")
	}
	if err := in.ServeTenant("nobody"); err == nil {
		t.Fatal("ServeTenant of an unknown tenant succeeded")
	}
	for round := 1; round <= 2; round++ {
		if err := in.ServeTenant(tenant); err != nil {
			t.Fatal(err)
		}
		if err := in.ServeTenant(tenant); err != nil { // served already: left as it is
			t.Fatal(err)
		}
		if !in.Serving(tenant) || sched.Dropped(tenant) {
			t.Fatalf("round %d: serving %v, dropped %v; want served", round, in.Serving(tenant), sched.Dropped(tenant))
		}
		select {
		case <-in.Recovered(tenant):
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the tenant's recovery did not end", round)
		}
		poll.Until(t, "one stream open", func() bool { return e.sapi.Subscribers(tenant) == 1 })
		if err := e.sapi.Publish(tenant, interactionEvent(round)); err != nil {
			t.Fatal(err)
		}
		// Round 1 admits event 1; round 2 recovers it from Redis (nothing
		// settled it) and admits event 2.
		poll.Until(t, fmt.Sprintf("round %d: every unsettled event scheduled", round), func() bool {
			return sched.Stats().Buffered == round
		})
		if err := in.UnserveTenant(ctx, tenant, 0); err != nil {
			t.Fatal(err)
		}
		if in.Serving(tenant) || !sched.Dropped(tenant) || sched.Stats().Buffered != 0 {
			t.Fatalf("round %d after UnserveTenant: serving %v, dropped %v, buffered %d; want closed and dropped",
				round, in.Serving(tenant), sched.Dropped(tenant), sched.Stats().Buffered)
		}
		poll.Until(t, "the stream closed", func() bool { return e.sapi.Subscribers(tenant) == 0 })
	}
	if st := in.Stats(); st.Admitted != 2 || st.Recovered != 1 {
		t.Fatalf("stats %+v, want 2 admitted and 1 recovered", st)
	}
	if err := in.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
