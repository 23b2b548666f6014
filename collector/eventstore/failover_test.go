package eventstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/poll"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestClusterFailoverLosesNoAdmission admits events without pause while a
// primary of the cluster is failed over by hand (CLUSTER FAILOVER, which
// waits for the replica to catch up before the switch): every event the
// store acknowledged as new is still pending afterwards, once, at the
// entry it was acknowledged with.
func TestClusterFailoverLosesNoAdmission(t *testing.T) {
	ctx := context.Background()
	srv := redistest.ClusterBackend().Start(t, redistest.Options{AppendOnly: true})
	s := newStore(t, srv.Client(t), "failover")

	var (
		mu       sync.Mutex
		acked    = map[string]Entry{} // dedup key → entry acknowledged
		ackCount atomic.Int64
		retries  atomic.Int64
		stop     = make(chan struct{})
		done     = make(chan error, 1)
	)
	go func() {
		for batch := 0; ; batch++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			evs := make([]*eventv1.Event, 8)
			for i := range evs {
				evs[i] = testEvent(fmt.Sprintf("int-%d", i), fmt.Sprintf("b%d-e%d", batch, i))
			}
			// Admission is idempotent: a batch that failed in the
			// switch is sent again, as the collector does.
			var (
				adm []Admission
				err error
			)
			for deadline := time.Now().Add(20 * time.Second); ; {
				if adm, err = s.Admit(ctx, evs); err == nil {
					break
				}
				if retries.Add(1)%50 == 1 {
					t.Logf("admit: %v", err)
				}
				if time.Now().After(deadline) {
					done <- fmt.Errorf("batch %d not admitted: %w", batch, err)
					return
				}
			}
			mu.Lock()
			for i, a := range adm {
				if a.Verdict == VerdictNew {
					acked[evs[i].GetDedupKey()] = a.Entry
				} else if _, ok := acked[evs[i].GetDedupKey()]; !ok {
					mu.Unlock()
					done <- fmt.Errorf("event %s first acknowledged as %v", evs[i].GetDedupKey(), a.Verdict)
					return
				}
			}
			mu.Unlock()
			ackCount.Add(int64(len(adm)))
		}
	}()

	var failed error
	// progress waits until n events were acknowledged, failing the test
	// if the admitter gave up.
	progress := func(what string, n int64) {
		t.Helper()
		poll.Until(t, what, func() bool {
			select {
			case failed = <-done:
				return true
			default:
				return ackCount.Load() >= n
			}
		})
		if failed != nil {
			t.Fatal(failed)
		}
	}
	progress("admissions before the failover", 200)
	for p := range s.Partitions() {
		if p%2 == 0 { // two of the partitions' primaries, the others stay
			srv.Cluster.FailoverKey(t, s.eventsKey("acme", p))
		}
	}
	after := ackCount.Load()
	progress("admissions after the failover", after+200)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	stored := map[string]Entry{}
	for p := range s.Partitions() {
		entries, err := s.Unsettled(ctx, "acme", p, "", 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			k := e.Event.GetDedupKey()
			if _, dup := stored[k]; dup {
				t.Fatalf("event %s stored twice", k)
			}
			stored[k] = e
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for k, want := range acked {
		got, ok := stored[k]
		if !ok {
			t.Fatalf("event %s acknowledged at %v is lost", k, want.Ref)
		}
		if got.Ref != want.Ref {
			t.Fatalf("event %s acknowledged at %v is stored at %v", k, want.Ref, got.Ref)
		}
	}
	if len(stored) != len(acked) {
		t.Fatalf("%d events stored, %d acknowledged", len(stored), len(acked))
	}
	t.Logf("%d events acknowledged, %d batches sent again in the switch", len(acked), retries.Load())
}
