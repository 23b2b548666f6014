package chaos

import (
	"reflect"
	"testing"
	"time"
)

// smallTruth is a ground truth of two interactions of three events each.
func smallTruth() *groundTruth {
	g := &groundTruth{expected: map[string][]eventID{}, position: map[eventID]int{}}
	for _, interaction := range []string{"int-a", "int-b"} {
		g.order = append(g.order, interaction)
		for i, name := range []string{"Interaction Created", "Interaction Queued", "Interaction Deleted"} {
			id := eventID{Interaction: interaction, Name: name, Timestamp: "2024-08-26 15:19:0" + string(rune('0'+i)) + " +00:00"}
			g.position[id] = i
			g.expected[interaction] = append(g.expected[interaction], id)
		}
	}
	return g
}

// at returns arrivals of the given events of truth, one per second from t0.
func at(t0 time.Time, ids ...eventID) []arrival {
	out := make([]arrival, len(ids))
	for i, id := range ids {
		out[i] = arrival{id: id, at: t0.Add(time.Duration(i) * time.Second)}
	}
	return out
}

func TestCompare(t *testing.T) {
	g := smallTruth()
	a, b := g.expected["int-a"], g.expected["int-b"]
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	killAt := func(kind FaultKind, d time.Duration) FaultRecord { return FaultRecord{Kind: kind, Time: t0.Add(d)} }
	tests := []struct {
		name     string
		arrivals []arrival
		dead     []deadLetter
		kills    []FaultRecord
		want     Outcome
	}{
		{
			name:     "all_once_in_order",
			arrivals: at(t0, a[0], b[0], a[1], b[1], b[2], a[2]),
			want:     Outcome{Delivered: 6, Received: 6},
		},
		{
			name:     "one_lost_one_dead",
			arrivals: at(t0, a[0], a[1], a[2], b[0], b[1]),
			dead:     []deadLetter{{id: b[2], reason: "regal: HTTP 400 Bad Request", status: "400"}},
			want: Outcome{Delivered: 5, Received: 5, DeadLettered: 1, DeadLetterEntries: 1,
				DeadLettersByStatus: map[string]int{"400": 1}, DeadLetterReasons: map[string]string{"400": "regal: HTTP 400 Bad Request"}},
		},
		{
			name:     "lost",
			arrivals: at(t0, a[0], a[2], b[0], b[1], b[2]),
			want:     Outcome{Delivered: 5, Received: 5, Lost: 1},
		},
		{
			name:     "out_of_order",
			arrivals: at(t0, a[1], a[0], a[2], b[0], b[1], b[2]),
			want:     Outcome{Delivered: 6, Received: 6, OrderViolations: 1, InteractionsOutOfOrder: 1},
		},
		{
			name:     "late_duplicate_is_not_out_of_order",
			arrivals: at(t0, a[0], a[1], a[0], a[2], b[0], b[1], b[2]),
			kills:    []FaultRecord{killAt(FaultDispatcherKill, 1500*time.Millisecond)},
			want: Outcome{Delivered: 6, Received: 7, Duplicates: 1, DuplicatedEvents: 1,
				ExplainedByDispatcherKill: 1, DuplicateWindows: 1, DispatcherKillsWhileDelivering: 1, LongestKillLag: Duration(1500 * time.Millisecond)},
		},
		{
			name:     "duplicate_after_a_collector_kill",
			arrivals: at(t0, a[0], a[0], a[1], a[2], b[0], b[1], b[2]),
			kills:    []FaultRecord{killAt(FaultCollectorKill, 50*time.Millisecond)},
			want: Outcome{Delivered: 6, Received: 7, Duplicates: 1, DuplicatedEvents: 1,
				ExplainedByCollectorKill: 1, DuplicateWindows: 1, CollectorKillsWhileDelivering: 1, LongestKillLag: Duration(50 * time.Millisecond)},
		},
		{
			name:     "duplicate_with_the_kill_too_late",
			arrivals: at(t0, a[0], a[1], a[2], a[0], b[0], b[1], b[2]),
			kills:    []FaultRecord{killAt(FaultDispatcherKill, 2500*time.Millisecond)},
			want: Outcome{Delivered: 6, Received: 7, Duplicates: 1, DuplicatedEvents: 1,
				UnexplainedDuplicates: 1, DispatcherKillsWhileDelivering: 1},
		},
		{
			name:     "unexpected_event",
			arrivals: at(t0, a[0], a[1], a[2], b[0], b[1], b[2], eventID{Interaction: "int-c", Name: "Interaction Created"}),
			want:     Outcome{Delivered: 6, Received: 7, Unexpected: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compare(g, tt.arrivals, nil, tt.dead, tt.kills, 2*time.Second)
			want := tt.want
			want.Expected = 6
			want.AllDuplicatesExplained = want.UnexplainedDuplicates == 0
			got.LostExamples, got.OrderExamples, got.UnexplainedExamples, got.UnexpectedExamples = nil, nil, nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("compare =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}
