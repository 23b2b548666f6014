package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
)

// killLead is how much later than a kill's recorded time a first copy may
// have arrived and still be explained by it: the time is taken just
// before the signal is sent.
const killLead = 100 * time.Millisecond

// maxExamples bounds each list of examples in a report.
const maxExamples = 10

// arrival is one event accepted by Regal.
type arrival struct {
	id eventID
	at time.Time
}

// regalBody holds the members of a Regal request that identify its event.
type regalBody struct {
	Name       string `json:"name"`
	Properties struct {
		InteractionID string `json:"interaction_id"`
	} `json:"properties"`
	OriginalTimestamp string `json:"originalTimestamp"`
}

// arrivalsOf decodes Regal's received log; bodies that cannot be read
// are returned as errors, in order.
func arrivalsOf(received []regaldouble.ReceivedEvent) ([]arrival, []string) {
	out := make([]arrival, 0, len(received))
	var bad []string
	for i, r := range received {
		var b regalBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			bad = append(bad, fmt.Sprintf("request %d: %v", i, err))
			continue
		}
		out = append(out, arrival{
			id: eventID{Interaction: b.Properties.InteractionID, Name: b.Name, Timestamp: b.OriginalTimestamp},
			at: r.At,
		})
	}
	return out, bad
}

// Outcome is what reached Regal compared with the ground truth.
type Outcome struct {
	// Expected is the events Regal must receive; Delivered those it
	// received at least once; DeadLettered those not delivered and kept as
	// dead letters; Lost the rest.
	Expected     int `json:"expected"`
	Delivered    int `json:"delivered"`
	DeadLettered int `json:"dead_lettered"`
	Lost         int `json:"lost"`
	// Received is every request Regal accepted.
	Received int `json:"received"`
	// Duplicates is the extra copies Regal accepted, of DuplicatedEvents
	// events.
	Duplicates       int `json:"duplicates"`
	DuplicatedEvents int `json:"duplicated_events"`
	// Duplicates explained by a dispatcher or collector kill that
	// followed the previous copy within the duplicate window (and came
	// before the copy): the at-least-once windows of docs/architecture.md.
	ExplainedByDispatcherKill int  `json:"explained_by_dispatcher_kill"`
	ExplainedByCollectorKill  int  `json:"explained_by_collector_kill"`
	UnexplainedDuplicates     int  `json:"unexplained_duplicates"`
	AllDuplicatesExplained    bool `json:"all_duplicates_explained"`
	// LongestKillLag is the longest time from an explained duplicate's
	// previous copy to the kill that explains it.
	LongestKillLag Duration `json:"longest_kill_lag"`
	// DispatcherKillsWhileDelivering and CollectorKillsWhileDelivering
	// count the kills with Regal accepting events in the window before
	// them (deliveries were in flight); DuplicateWindows counts the kills
	// that explain at least one duplicate.
	DispatcherKillsWhileDelivering int `json:"dispatcher_kills_while_delivering"`
	CollectorKillsWhileDelivering  int `json:"collector_kills_while_delivering"`
	DuplicateWindows               int `json:"duplicate_windows"`
	// OrderViolations counts events whose first copy reached Regal after
	// the first copy of a later event of the same interaction, in
	// InteractionsOutOfOrder interactions.
	OrderViolations        int `json:"order_violations"`
	InteractionsOutOfOrder int `json:"interactions_out_of_order"`
	// Unexpected is accepted events that are not in the ground truth, or
	// that could not be read.
	Unexpected int `json:"unexpected"`
	// DeadLetterEntries is every entry of the dead-letter streams; by
	// Regal's last status ("0": none) in DeadLettersByStatus, with the
	// first reason of each status in DeadLetterReasons.
	DeadLetterEntries   int               `json:"dead_letter_entries"`
	DeadLettersByStatus map[string]int    `json:"dead_letters_by_status,omitempty"`
	DeadLetterReasons   map[string]string `json:"dead_letter_reasons,omitempty"`

	LostExamples        []string `json:"lost_examples,omitempty"`
	OrderExamples       []string `json:"order_examples,omitempty"`
	UnexplainedExamples []string `json:"unexplained_examples,omitempty"`
	UnexpectedExamples  []string `json:"unexpected_examples,omitempty"`
}

// compare checks the arrivals against the ground truth. kills are the
// collector and dispatcher kills; window is Options.DuplicateWindow.
func compare(truth *groundTruth, arrivals []arrival, unreadable []string, dead []deadLetter, kills []FaultRecord, window time.Duration) Outcome {
	out := Outcome{Expected: truth.total(), Received: len(arrivals) + len(unreadable), DeadLetterEntries: len(dead)}
	for _, u := range unreadable {
		out.Unexpected++
		out.UnexpectedExamples = appendExample(out.UnexpectedExamples, u)
	}
	copies := map[eventID][]time.Time{}
	var delivered []eventID     // in order of first arrival
	highest := map[string]int{} // per interaction, the highest position whose first copy arrived
	outOfOrder := map[string]bool{}
	for _, a := range arrivals {
		pos, ok := truth.position[a.id]
		if !ok {
			out.Unexpected++
			out.UnexpectedExamples = appendExample(out.UnexpectedExamples, a.id.String())
			continue
		}
		copies[a.id] = append(copies[a.id], a.at)
		if len(copies[a.id]) > 1 {
			continue
		}
		delivered = append(delivered, a.id)
		if top, seen := highest[a.id.Interaction]; seen && pos < top {
			out.OrderViolations++
			outOfOrder[a.id.Interaction] = true
			out.OrderExamples = appendExample(out.OrderExamples, fmt.Sprintf("%s arrived after %s",
				a.id, truth.expected[a.id.Interaction][top].Name))
			continue
		}
		highest[a.id.Interaction] = pos
	}
	out.InteractionsOutOfOrder = len(outOfOrder)
	out.Delivered = len(copies)

	deadIDs := map[eventID]bool{}
	for _, d := range dead {
		deadIDs[d.id] = true
		if out.DeadLettersByStatus == nil {
			out.DeadLettersByStatus, out.DeadLetterReasons = map[string]int{}, map[string]string{}
		}
		if out.DeadLettersByStatus[d.status]++; out.DeadLettersByStatus[d.status] == 1 {
			out.DeadLetterReasons[d.status] = d.reason
		}
	}
	for _, interaction := range truth.order {
		for _, id := range truth.expected[interaction] {
			switch {
			case len(copies[id]) > 0:
			case deadIDs[id]:
				out.DeadLettered++
			default:
				out.Lost++
				out.LostExamples = appendExample(out.LostExamples, id.String())
			}
		}
	}
	explainDuplicates(&out, delivered, copies, kills, window)
	out.DispatcherKillsWhileDelivering, out.CollectorKillsWhileDelivering = killsWhileDelivering(arrivals, kills, window)
	return out
}

// explainDuplicates counts the duplicates and matches each extra copy with
// a kill between the previous copy (at most window after it) and itself.
func explainDuplicates(out *Outcome, delivered []eventID, copies map[eventID][]time.Time, kills []FaultRecord, window time.Duration) {
	windows := map[int]bool{}
	for _, id := range delivered {
		times := copies[id]
		if len(times) < 2 {
			continue
		}
		out.DuplicatedEvents++
		for i := 1; i < len(times); i++ {
			out.Duplicates++
			k := explainingKill(kills, times[i-1], times[i], window)
			if k >= 0 {
				out.LongestKillLag = max(out.LongestKillLag, Duration(kills[k].Time.Sub(times[i-1])))
			}
			switch {
			case k < 0:
				out.UnexplainedDuplicates++
				out.UnexplainedExamples = appendExample(out.UnexplainedExamples, fmt.Sprintf("%s: copies at %s and %s",
					id, times[i-1].Format(time.TimeOnly+".000"), times[i].Format(time.TimeOnly+".000")))
			case kills[k].Kind == FaultDispatcherKill:
				out.ExplainedByDispatcherKill++
				windows[k] = true
			default:
				out.ExplainedByCollectorKill++
				windows[k] = true
			}
		}
	}
	out.DuplicateWindows = len(windows)
	out.AllDuplicatesExplained = out.UnexplainedDuplicates == 0
}

// explainingKill returns the index of the first kill at most window after
// the previous copy (killLead of slack) and before the next copy, or -1.
func explainingKill(kills []FaultRecord, previous, next time.Time, window time.Duration) int {
	for k, kill := range kills {
		if !kill.Time.Before(previous.Add(-killLead)) && !kill.Time.After(previous.Add(window)) && kill.Time.Before(next) {
			return k
		}
	}
	return -1
}

// killsWhileDelivering counts the dispatcher and the collector kills with
// at least one event accepted by Regal in the window before them.
func killsWhileDelivering(arrivals []arrival, kills []FaultRecord, window time.Duration) (dispatcher, collector int) {
	times := make([]time.Time, len(arrivals))
	for i, a := range arrivals {
		times[i] = a.at
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for _, kill := range kills {
		i, _ := slices.BinarySearchFunc(times, kill.Time.Add(-window), func(t, target time.Time) int { return t.Compare(target) })
		if i == len(times) || times[i].After(kill.Time) {
			continue
		}
		if kill.Kind == FaultDispatcherKill {
			dispatcher++
		} else {
			collector++
		}
	}
	return dispatcher, collector
}

func appendExample(list []string, example string) []string {
	if len(list) >= maxExamples {
		return list
	}
	return append(list, example)
}

// writeArrivals saves Regal's arrivals as tab-separated lines (arrival
// time, interaction, event name, originalTimestamp) for a closer look.
func writeArrivals(path string, arrivals []arrival) error {
	var b strings.Builder
	for _, a := range arrivals {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", a.at.Format(time.RFC3339Nano), a.id.Interaction, a.id.Name, a.id.Timestamp)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
