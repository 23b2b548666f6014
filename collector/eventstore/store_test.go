package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.WithSharedCluster(m)) }

func testEvent(interaction, dedup string) *eventv1.Event {
	return &eventv1.Event{Tenant: "acme", InteractionId: interaction, OrderKey: interaction,
		EventType: "InteractionCreated", DedupKey: dedup, Raw: []byte(`{"Interaction":{}}`)}
}

func newStore(t testing.TB, rdb redis.UniversalClient, prefix string) *Store {
	cfg := DefaultConfig()
	cfg.KeyPrefix = prefix
	cfg.Partitions = 4
	s, err := New(rdb, cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// TestStoreConformance runs every behaviour the collector relies on against
// each Redis implementation.
func TestStoreConformance(t *testing.T) {
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			// One server serves every case; cases are kept apart by key
			// prefix. Persistence as in production, for the restart case.
			srv := b.Start(t, redistest.Options{AppendOnly: true})
			rdb := srv.Client(t)
			for _, tc := range storeCases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStore(t, rdb, "test-"+tc.name), rdb, srv)
				})
			}
		})
	}
}

var storeCases = []struct {
	name string
	run  func(t *testing.T, s *Store, rdb redis.UniversalClient, srv *redistest.Instance)
}{
	{"admit_new_then_duplicate_pending_then_duplicate", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		ev := testEvent("int-1", "k1")
		first := admitOne(t, s, ev)
		if first.Verdict != VerdictNew || first.Entry.Ref.ID == "" {
			t.Fatalf("first admit: %+v", first)
		}
		again := admitOne(t, s, ev)
		if again.Verdict != VerdictDuplicatePending || again.Entry.Ref != first.Entry.Ref {
			t.Fatalf("second admit: got %v %v, want duplicate_pending %v", again.Verdict, again.Entry.Ref, first.Entry.Ref)
		}
		if err := s.Settle(ctx, []Settlement{{Entry: first.Entry}}); err != nil {
			t.Fatal(err)
		}
		if third := admitOne(t, s, ev); third.Verdict != VerdictDuplicate {
			t.Fatalf("after settle: got %v, want duplicate", third.Verdict)
		}
	}},
	{"batch_keeps_order_and_partition_per_order_key", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		var evs []*eventv1.Event
		for i := range 20 {
			evs = append(evs, testEvent(fmt.Sprintf("int-%d", i%3), fmt.Sprintf("k%d", i)))
		}
		evs = append(evs, testEvent("int-0", "k0")) // duplicate inside the batch
		adm, err := s.Admit(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		if len(adm) != len(evs) {
			t.Fatalf("got %d admissions for %d events", len(adm), len(evs))
		}
		if adm[len(adm)-1].Verdict != VerdictDuplicatePending {
			t.Fatalf("in-batch duplicate: got %v", adm[len(adm)-1].Verdict)
		}
		byKey := map[string][]Ref{}
		for _, a := range adm[:20] {
			if a.Verdict != VerdictNew {
				t.Fatalf("want new, got %v", a.Verdict)
			}
			byKey[a.Entry.Event.GetOrderKey()] = append(byKey[a.Entry.Event.GetOrderKey()], a.Entry.Ref)
		}
		for key, refs := range byKey {
			got := unsettledAll(t, s, "acme", refs[0].Partition)
			var ids []string
			for _, e := range got {
				if e.Event.GetOrderKey() == key {
					ids = append(ids, e.Ref.ID)
				}
			}
			if len(ids) != len(refs) {
				t.Fatalf("%s: %d unsettled, want %d", key, len(ids), len(refs))
			}
			for i := range refs {
				if refs[i].Partition != refs[0].Partition || ids[i] != refs[i].ID {
					t.Fatalf("%s: order or partition differs at %d", key, i)
				}
			}
		}
	}},
	{"unsettled_pages_after_cursor_and_decodes_events", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		var evs []*eventv1.Event
		for i := range 5 {
			evs = append(evs, testEvent("int-same", fmt.Sprintf("k%d", i)))
		}
		adm, err := s.Admit(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		p := adm[0].Entry.Ref.Partition
		page1, err := s.Unsettled(ctx, "acme", p, "", 2)
		if err != nil || len(page1) != 2 {
			t.Fatalf("page1: %v %d", err, len(page1))
		}
		page2, err := s.Unsettled(ctx, "acme", p, page1[1].Ref.ID, 10)
		if err != nil || len(page2) != 3 {
			t.Fatalf("page2: %v %d", err, len(page2))
		}
		if !proto.Equal(page2[2].Event, evs[4]) {
			t.Fatalf("stored event differs: %v", page2[2].Event)
		}
	}},
	{"dead_letter_moves_entry_once", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		a := admitOne(t, s, testEvent("int-9", "dead"))
		st := Settlement{Entry: a.Entry, Dead: &DeadLetter{Reason: "regal 400", Attempts: 1, Status: 400, At: time.Now()}}
		for range 2 {
			if err := s.Settle(ctx, []Settlement{st}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeadLetterCount(ctx, "acme")
		if err != nil || n != 1 {
			t.Fatalf("dead letters: %d %v, want 1", n, err)
		}
		if left := unsettledAll(t, s, "acme", a.Entry.Ref.Partition); len(left) != 0 {
			t.Fatalf("dead-lettered entry still unsettled: %v", left)
		}
	}},
	{"dead_letters_listed_by_filter_and_revived_once", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		before := time.Now().Add(-time.Second)
		var sts []Settlement
		for i, id := range []string{"int-a", "int-b", "int-a"} {
			a := admitOne(t, s, testEvent(id, fmt.Sprint("dl", i)))
			sts = append(sts, Settlement{Entry: a.Entry, Dead: &DeadLetter{Reason: "regal 401", Attempts: 1, Status: 401, At: time.Now()}})
		}
		if err := s.Settle(ctx, sts); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			f    DeadLetterFilter
			want int
		}{
			{"all", DeadLetterFilter{}, 3},
			{"one_interaction", DeadLetterFilter{InteractionID: "int-a"}, 2},
			{"one_event", DeadLetterFilter{DedupKey: "dl1"}, 1},
			{"since_before", DeadLetterFilter{Since: before}, 3},
			{"since_after", DeadLetterFilter{Since: time.Now().Add(time.Hour)}, 0},
		}
		for _, tt := range tests {
			got, err := s.DeadLetters(ctx, "acme", tt.f, 0)
			if err != nil || len(got) != tt.want {
				t.Fatalf("%s: %d dead letters (%v), want %d", tt.name, len(got), err, tt.want)
			}
		}
		dead, _ := s.DeadLetters(ctx, "acme", DeadLetterFilter{InteractionID: "int-a"}, 0)
		if dead[0].Reason != "regal 401" || dead[0].Attempts != 1 || dead[0].Status != 401 || dead[0].From == "" {
			t.Fatalf("dead letter fields: %+v", dead[0])
		}
		replayed, err := s.Replay(ctx, dead)
		if err != nil || len(replayed) != 2 || replayed[0].Unparked {
			t.Fatalf("replayed %d (%v), want 2 moved back", len(replayed), err)
		}
		if again, err := s.Replay(ctx, dead); err != nil || len(again) != 0 {
			t.Fatalf("second replay: %d (%v), want 0", len(again), err)
		}
		if left, _ := s.DeadLetters(ctx, "acme", DeadLetterFilter{}, 0); len(left) != 1 {
			t.Fatalf("%d dead letters left, want 1", len(left))
		}
		got := unsettledAll(t, s, "acme", replayed[0].Entry.Ref.Partition)
		if len(got) != 2 || got[0].Ref != replayed[0].Entry.Ref || got[1].Ref != replayed[1].Entry.Ref {
			t.Fatalf("replayed entries not in the delivery stream in order: %v", got)
		}
	}},
	{"parked_dead_letter_keeps_its_place_and_holds_its_interaction", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		first := admitOne(t, s, testEvent("int-h", "h1"))
		second := admitOne(t, s, testEvent("int-h", "h2"))
		p := first.Entry.Ref.Partition
		st := Settlement{Entry: first.Entry, Dead: &DeadLetter{Reason: "regal 400: bad phone", Attempts: 1, Status: 400, At: time.Now(), Hold: true}}
		for range 2 { // idempotent
			if err := s.Settle(ctx, []Settlement{st}); err != nil {
				t.Fatal(err)
			}
		}
		dead, err := s.DeadLetters(ctx, "acme", DeadLetterFilter{}, 0)
		if err != nil || len(dead) != 1 || !dead[0].Holds || dead[0].From != first.Entry.Ref.ID || dead[0].OrderKey != "int-h" {
			t.Fatalf("dead letters %+v (%v), want one holding int-h", dead, err)
		}
		if left := unsettledAll(t, s, "acme", p); len(left) != 2 || left[0].Ref != first.Entry.Ref {
			t.Fatalf("unsettled %v, want the parked event still first", left)
		}
		held, err := s.HeldInteractions(ctx, "acme", p)
		if err != nil || len(held) != 1 || held[0].OrderKey != "int-h" || held[0].From != first.Entry.Ref.ID || held[0].DeadID != dead[0].ID {
			t.Fatalf("held %+v (%v)", held, err)
		}
		// A duplicate of the parked event is still pending, not new.
		if again := admitOne(t, s, testEvent("int-h", "h1")); again.Verdict != VerdictDuplicatePending {
			t.Fatalf("duplicate of a parked event: %v", again.Verdict)
		}
		replayed, err := s.Replay(ctx, dead)
		if err != nil || len(replayed) != 1 || !replayed[0].Unparked || replayed[0].Entry.Ref != first.Entry.Ref {
			t.Fatalf("replay %+v (%v), want the parked event un-parked at its place", replayed, err)
		}
		if held, _ := s.HeldInteractions(ctx, "acme", p); len(held) != 0 {
			t.Fatalf("still held after replay: %v", held)
		}
		pending, err := s.PendingOf(ctx, "acme", p, first.Entry.Ref.ID, map[string]bool{"int-h": true})
		if err != nil || len(pending["int-h"]) != 2 || pending["int-h"][0].Ref != first.Entry.Ref || pending["int-h"][1].Ref != second.Entry.Ref {
			t.Fatalf("pending of int-h: %v (%v), want both events in order", pending, err)
		}
	}},
	{"trim_drops_old_and_excess_letters_and_releases_their_holds", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		s.cfg.DeadLetterMaxLen = 2
		var parked Entry
		for i := range 4 {
			a := admitOne(t, s, testEvent(fmt.Sprint("int-trim-", i), fmt.Sprint("tr", i)))
			if i == 0 {
				parked = a.Entry
			}
			st := Settlement{Entry: a.Entry, Dead: &DeadLetter{Reason: "bad", Attempts: 1, Status: 400, At: time.Now(), Hold: i == 0}}
			if err := s.Settle(ctx, []Settlement{st}); err != nil {
				t.Fatal(err)
			}
		}
		var total TrimResult
		for p := range s.Partitions() {
			res, err := s.TrimDeadLetters(ctx, "acme", p, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			total.ByAge += res.ByAge
			total.ByLength += res.ByLength
			total.Released = append(total.Released, res.Released...)
		}
		n, _ := s.DeadLetterCount(ctx, "acme")
		fill, err := s.DeadLetterFill(ctx, "acme", time.Now())
		if err != nil || fill.Largest > 2 || fill.LengthRatio > 1 || fill.Oldest.IsZero() {
			t.Fatalf("fill %+v (%v)", fill, err)
		}
		if int(n)+total.ByLength != 4 || total.ByAge != 0 {
			t.Fatalf("%d left, trimmed %+v, want 4 in all", n, total)
		}
		// Dropping everything by age releases the parked event's interaction
		// and takes the event out of the delivery stream.
		for p := range s.Partitions() {
			res, err := s.TrimDeadLetters(ctx, "acme", p, time.Now().Add(s.cfg.DeadLetterMaxAge+time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			total.ByAge += res.ByAge
			total.Released = append(total.Released, res.Released...)
		}
		if n, _ := s.DeadLetterCount(ctx, "acme"); n != 0 || len(total.Released) != 1 || total.Released[0] != "int-trim-0" {
			t.Fatalf("%d left, released %v, want 0 and int-trim-0", n, total.Released)
		}
		if left := unsettledAll(t, s, "acme", parked.Ref.Partition); len(left) != 0 {
			t.Fatalf("parked event still unsettled after its letter was dropped: %v", left)
		}
	}},
	{"unhold_moves_parked_events_to_plain_dead_letters", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		a := admitOne(t, s, testEvent("int-u", "u1"))
		p := a.Entry.Ref.Partition
		if err := s.Settle(ctx, []Settlement{{Entry: a.Entry, Dead: &DeadLetter{Reason: "bad", Attempts: 1, Status: 400, At: time.Now(), Hold: true}}}); err != nil {
			t.Fatal(err)
		}
		released, err := s.Unhold(ctx, "acme", p)
		if err != nil || len(released) != 1 || released[0] != "int-u" {
			t.Fatalf("released %v (%v)", released, err)
		}
		if left := unsettledAll(t, s, "acme", p); len(left) != 0 {
			t.Fatalf("unsettled %v after unhold", left)
		}
		dead, _ := s.DeadLetters(ctx, "acme", DeadLetterFilter{}, 0)
		if len(dead) != 1 || dead[0].Holds {
			t.Fatalf("dead letters %+v, want one not holding", dead)
		}
		replayed, err := s.Replay(ctx, dead)
		if err != nil || len(replayed) != 1 || replayed[0].Unparked || replayed[0].Entry.Ref.ID == a.Entry.Ref.ID {
			t.Fatalf("replay %+v (%v), want a new entry", replayed, err)
		}
	}},
	{"first_traceparent_of_an_interaction_is_kept", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		first := testEvent("int-t", "t1")
		first.TraceContext = map[string]string{"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"}
		later := testEvent("int-t", "t2")
		later.TraceContext = map[string]string{"traceparent": "00-33333333333333333333333333333333-4444444444444444-01"}
		admitOne(t, s, first)
		admitOne(t, s, later)
		got, err := s.InteractionTraces(context.Background(), "acme", []string{"int-t", "int-none"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["int-t"] != first.TraceContext["traceparent"] {
			t.Fatalf("got %v, want the first event's traceparent only", got)
		}
	}},
	{"dedup_key_lives_while_pending_and_dedup_ttl_past_settlement", func(t *testing.T, s *Store, rdb redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		delivered := admitOne(t, s, testEvent("int-ttl", "ttl-delivered"))
		dead := admitOne(t, s, testEvent("int-ttl", "ttl-dead"))
		for _, a := range []Admission{delivered, dead} {
			assertNoTTL(t, s, rdb, a.Entry, "pending")
		}
		if err := s.Settle(ctx, []Settlement{{Entry: delivered.Entry},
			{Entry: dead.Entry, Dead: &DeadLetter{Reason: "400", Attempts: 1, At: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
		for _, a := range []Admission{delivered, dead} {
			assertDedupTTL(t, s, rdb, a.Entry, "settled")
		}
		// Revived, the event is pending again: its key names the new
		// entry and has no TTL until that one settles.
		letters, err := s.DeadLetters(ctx, "acme", DeadLetterFilter{DedupKey: "ttl-dead"}, 0)
		if err != nil || len(letters) != 1 {
			t.Fatalf("dead letters %v %v", letters, err)
		}
		replayed, err := s.Replay(ctx, letters)
		if err != nil || len(replayed) != 1 || replayed[0].Unparked {
			t.Fatalf("replay %v %v, want the letter moved back as a new entry", replayed, err)
		}
		revived := []Entry{replayed[0].Entry}
		assertNoTTL(t, s, rdb, revived[0], "revived")
		if again := admitOne(t, s, testEvent("int-ttl", "ttl-dead")); again.Verdict != VerdictDuplicatePending || again.Entry.Ref != revived[0].Ref {
			t.Fatalf("a replay of a revived event: %v %v, want duplicate_pending %v", again.Verdict, again.Entry.Ref, revived[0].Ref)
		}
		if err := s.Settle(ctx, []Settlement{{Entry: revived[0]}}); err != nil {
			t.Fatal(err)
		}
		assertDedupTTL(t, s, rdb, revived[0], "revived and settled")
	}},
	{"a_parked_event_keeps_its_dedup_key_until_its_letter_is_trimmed", func(t *testing.T, s *Store, rdb redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		parked := admitOne(t, s, testEvent("int-park", "park"))
		if err := s.Settle(ctx, []Settlement{{Entry: parked.Entry, Dead: &DeadLetter{Reason: "400", Attempts: 1, At: time.Now(), Hold: true}}}); err != nil {
			t.Fatal(err)
		}
		assertNoTTL(t, s, rdb, parked.Entry, "parked (still pending)")
		// A trim by age drops the letter and its parked event for good:
		// the event's dedup window starts then.
		if _, err := s.TrimDeadLetters(ctx, "acme", parked.Entry.Ref.Partition, time.Now().Add(365*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		assertDedupTTL(t, s, rdb, parked.Entry, "parked, then trimmed")
	}},
	{"settlement_leaves_the_key_of_a_later_pending_admission_alone", func(t *testing.T, s *Store, rdb redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		ev := testEvent("int-again", "again")
		first := admitOne(t, s, ev)
		// Its key gone (expired in another life), the event is admitted
		// anew before the first entry settles.
		if err := rdb.Del(ctx, s.seenKey("acme", first.Entry.Ref.Partition, "again")).Err(); err != nil {
			t.Fatal(err)
		}
		second := admitOne(t, s, ev)
		if second.Verdict != VerdictNew {
			t.Fatalf("admitted anew: %v", second.Verdict)
		}
		if err := s.Settle(ctx, []Settlement{{Entry: first.Entry}}); err != nil {
			t.Fatal(err)
		}
		assertNoTTL(t, s, rdb, second.Entry, "pending, after the earlier entry settled")
		if err := s.Settle(ctx, []Settlement{{Entry: second.Entry}}); err != nil {
			t.Fatal(err)
		}
		assertDedupTTL(t, s, rdb, second.Entry, "settled")
	}},
	{"lost_script_cache_is_reloaded", func(t *testing.T, s *Store, rdb redis.UniversalClient, _ *redistest.Instance) {
		admitOne(t, s, testEvent("int-a", "a"))
		if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		if a := admitOne(t, s, testEvent("int-b", "b")); a.Verdict != VerdictNew {
			t.Fatalf("got %v", a.Verdict)
		}
	}},
	{"malformed_frames_kept_newest_first", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		for i := range 3 {
			if err := s.KeepMalformed(ctx, "acme", Malformed{Frame: []byte{0xff, byte(i)}, Reason: "invalid json", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.RecentMalformed(ctx, "acme", 2)
		if err != nil || len(got) != 2 || got[0].Frame[1] != 2 || got[0].Reason != "invalid json" || got[0].Size != 2 {
			t.Fatalf("got %+v %v", got, err)
		}
	}},
	{"malformed_frame_kept_as_a_bounded_prefix", func(t *testing.T, s *Store, _ redis.UniversalClient, _ *redistest.Instance) {
		ctx := context.Background()
		tests := []struct {
			name      string
			frame     Malformed
			wantBytes int
			wantSize  int
		}{
			{"small_frame_whole", Malformed{Frame: []byte(`{"a":`), Reason: "invalid json"}, 5, 5},
			{"big_frame_cut", Malformed{Frame: bytes.Repeat([]byte("x"), 1<<20), Reason: "invalid utf-8"}, DefaultMalformedMaxBytes, 1 << 20},
			{"oversized_frame_keeps_its_size", Malformed{Frame: bytes.Repeat([]byte("y"), 1024), Size: 5 << 20, Reason: "event larger than 1048576 bytes"}, 1024, 5 << 20},
			{"long_reason_cut", Malformed{Frame: []byte("z"), Reason: strings.Repeat("r", 10000)}, 1, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.frame.At = time.Now()
				if err := s.KeepMalformed(ctx, "acme", tt.frame); err != nil {
					t.Fatal(err)
				}
				got, err := s.RecentMalformed(ctx, "acme", 1)
				if err != nil || len(got) != 1 {
					t.Fatalf("got %+v %v", got, err)
				}
				if k := got[0]; len(k.Frame) != tt.wantBytes || !bytes.HasPrefix(tt.frame.Frame, k.Frame) || k.Size != tt.wantSize ||
					len(k.Reason) > malformedReasonBytes || !strings.HasPrefix(tt.frame.Reason, k.Reason) {
					t.Fatalf("kept %d bytes of size %d, reason of %d bytes; want %d bytes (a prefix) of size %d",
						len(k.Frame), k.Size, len(k.Reason), tt.wantBytes, tt.wantSize)
				}
			})
		}
	}},
	{"malformed_stream_bounded_in_bytes", func(t *testing.T, s *Store, rdb redis.UniversalClient, srv *redistest.Instance) {
		if srv.Embedded {
			t.Skip("MEMORY USAGE needs redis-server")
		}
		cfg := s.cfg
		cfg.MalformedMaxLen = 200
		small, err := New(rdb, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		big := bytes.Repeat([]byte{0xff}, 1<<20) // each frame a MiB of invalid UTF-8
		for i := range 1000 {
			big[0] = byte(i)
			if err := small.KeepMalformed(ctx, "acme", Malformed{Frame: big, Reason: "invalid utf-8", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		used, err := rdb.MemoryUsage(ctx, small.malformedKey("acme"), 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		if bound := cfg.MalformedBound(); used > bound || used < cfg.MalformedMaxLen*int64(cfg.MalformedMaxBytes) {
			t.Fatalf("malformed stream takes %d bytes after 1000 frames of 1 MiB, want at most the bound %d (and the %d frames kept)",
				used, bound, cfg.MalformedMaxLen)
		}
		n, _ := rdb.XLen(ctx, small.malformedKey("acme")).Result()
		t.Logf("1000 malformed frames of 1 MiB: the stream takes %d bytes for %d entries (bound %d)", used, n, cfg.MalformedBound())
	}},
	{"restart_with_persistence_keeps_pending_and_dedup", func(t *testing.T, s *Store, _ redis.UniversalClient, srv *redistest.Instance) {
		if srv.Restart == nil {
			t.Skip("backend has no persistence")
		}
		a := admitOne(t, s, testEvent("int-r", "r"))
		srv.Restart(t)
		if again := admitOne(t, s, testEvent("int-r", "r")); again.Verdict != VerdictDuplicatePending {
			t.Fatalf("after restart: %v", again.Verdict)
		}
		if left := unsettledAll(t, s, "acme", a.Entry.Ref.Partition); len(left) != 1 {
			t.Fatalf("after restart %d unsettled, want 1", len(left))
		}
	}},
}

// assertNoTTL checks that e's dedup key names e and does not expire.
func assertNoTTL(t *testing.T, s *Store, rdb redis.UniversalClient, e Entry, when string) {
	t.Helper()
	key := s.seenKey(e.Ref.Tenant, e.Ref.Partition, e.Event.GetDedupKey())
	ctx := context.Background()
	if id, err := rdb.Get(ctx, key).Result(); err != nil || id != e.Ref.ID {
		t.Fatalf("%s: dedup key holds %q (%v), want the entry id %s", when, id, err, e.Ref.ID)
	}
	// PTTL -1: the key exists and has no TTL.
	if ms, err := rdb.Do(ctx, "PTTL", key).Int64(); err != nil || ms != -1 {
		t.Fatalf("%s: dedup key PTTL %d ms (%v), want none (-1)", when, ms, err)
	}
}

// assertDedupTTL checks that e's dedup key expires DedupTTL from about now.
func assertDedupTTL(t *testing.T, s *Store, rdb redis.UniversalClient, e Entry, when string) {
	t.Helper()
	key := s.seenKey(e.Ref.Tenant, e.Ref.Partition, e.Event.GetDedupKey())
	ms, err := rdb.Do(context.Background(), "PTTL", key).Int64()
	if err != nil {
		t.Fatal(err)
	}
	if ttl := time.Duration(ms) * time.Millisecond; ttl > s.cfg.DedupTTL || ttl < s.cfg.DedupTTL-time.Minute {
		t.Fatalf("%s: dedup key PTTL %s, want the dedup TTL %s from the settlement", when, ttl, s.cfg.DedupTTL)
	}
}

func admitOne(t *testing.T, s *Store, ev *eventv1.Event) Admission {
	t.Helper()
	var (
		adm []Admission
		err error
	)
	// A restarted server may refuse the first command of a pooled connection.
	for range 3 {
		if adm, err = s.Admit(context.Background(), []*eventv1.Event{ev}); err == nil {
			return adm[0]
		}
	}
	t.Fatal(err)
	return Admission{}
}

func unsettledAll(t *testing.T, s *Store, tenant string, p int) []Entry {
	t.Helper()
	got, err := s.Unsettled(context.Background(), tenant, p, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"defaults_are_valid", func(*Config) {}, false},
		{"empty_prefix", func(c *Config) { c.KeyPrefix = "" }, true},
		{"zero_partitions", func(c *Config) { c.Partitions = 0 }, true},
		{"ttl_shorter_than_replay_horizon", func(c *Config) { c.DedupTTL = 2 * time.Hour }, true},
		{"no_malformed_bytes", func(c *Config) { c.MalformedMaxBytes = 0 }, true},
		{"malformed_bytes_beyond_a_prefix", func(c *Config) { c.MalformedMaxBytes = 1 << 20 }, true},
		{"negative_dead_letter_max_len", func(c *Config) { c.DeadLetterMaxLen = -1 }, true},
		{"dead_letter_max_age_under_a_minute", func(c *Config) { c.DeadLetterMaxAge = time.Second }, true},
		{"dead_letter_check_interval_zero_takes_the_default", func(c *Config) { c.DeadLetterCheckInterval = 0 }, false},
		{"dead_letter_check_interval_under_a_second", func(c *Config) { c.DeadLetterCheckInterval = time.Millisecond }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			if err := c.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
