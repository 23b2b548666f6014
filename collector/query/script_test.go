package query_test

import (
	"cmp"
	"slices"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/phone"
)

// scriptedCall is one interaction of the script and what its events carry
// (read with the SAPI decoder, independently of the store under test).
type scriptedCall struct {
	id        string
	phone     string // E.164, the latest valid one
	slot      int    // the scenario call it belongs to (a transfer has two interactions)
	start     time.Time
	last      time.Time // first sighting of its latest event
	lines     []line
	campaigns []int64
	queues    []int64
	agents    []string
	events    []string    // dedup keys, in order, without repeats
	eventAt   []time.Time // first sighting of each event
	sightings map[string]int
}

// day is the script: the interactions of a scenario mix; scenario call k
// is received from base + k minutes, one line a second; every fourth line
// is received twice (a duplicate, as around 8x8 reconnects).
type day struct {
	base  time.Time
	all   []line // every line, agent events included, in order
	calls []scriptedCall
}

func newDay(n int) day {
	d := day{base: time.Now().Add(-2 * time.Hour).Truncate(time.Minute)}
	byID := map[string]int{}
	lineNo := 0
	for slot, c := range scenario.Mix(7, tenant, n, d.base) {
		for j, raw := range c.Events {
			at := d.slotStart(slot).Add(time.Duration(j) * time.Second)
			lineNo++
			repeated := lineNo%4 == 0
			d.all = append(d.all, line{raw: raw, at: at})
			if repeated {
				d.all = append(d.all, line{raw: raw, at: at.Add(500 * time.Millisecond)})
			}
			ev, err := sapi.Decode(raw, tenant, "regal-bridge", at)
			if err != nil {
				panic(err)
			}
			id := ev.GetInteractionId()
			if ev.GetFamily() != "Interaction" || id == "" {
				continue // agent events: not kept by the timeline
			}
			i, ok := byID[id]
			if !ok {
				i = len(d.calls)
				byID[id] = i
				d.calls = append(d.calls, scriptedCall{id: id, slot: slot, start: at, sightings: map[string]int{}})
			}
			sc := &d.calls[i]
			sc.lines = append(sc.lines, line{raw: raw, at: at})
			if repeated {
				sc.lines = append(sc.lines, line{raw: raw, at: at.Add(500 * time.Millisecond)})
			}
			key := ev.GetDedupKey()
			if sc.sightings[key] == 0 {
				sc.events, sc.eventAt, sc.last = append(sc.events, key), append(sc.eventAt, at), at
			}
			sc.sightings[key] += 1 + boolInt(repeated)
			f := ev.GetInteraction()
			if p, err := phone.Normalize(f.GetCustomerPhone(), "US"); err == nil {
				sc.phone = p
			}
			if id := f.GetCampaignId(); id != 0 && !slices.Contains(sc.campaigns, id) {
				sc.campaigns = append(sc.campaigns, id)
			}
			if id := f.GetQueueId(); id != 0 && !slices.Contains(sc.queues, id) {
				sc.queues = append(sc.queues, id)
			}
			if a := f.GetAgentId(); a != "" && !slices.Contains(sc.agents, a) {
				sc.agents = append(sc.agents, a)
			}
		}
	}
	for i := range d.calls {
		slices.Sort(d.calls[i].agents)
	}
	return d
}

// slotStart is when scenario call k starts being received.
func (d day) slotStart(k int) time.Time { return d.base.Add(time.Duration(k) * time.Minute) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lines are every line of the script, in order.
func (d day) lines() []line { return d.all }

// interactionLines are the lines of interaction events (the ones the
// timeline keeps), call after call.
func (d day) interactionLines() []line {
	var out []line
	for _, c := range d.calls {
		out = append(out, c.lines...)
	}
	return out
}

// ids returns the ids of the interactions matching keep, most recently
// updated first.
func (d day) ids(keep func(scriptedCall) bool) []string {
	var kept []scriptedCall
	for _, c := range d.calls {
		if keep(c) {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(kept, func(a, b scriptedCall) int { return b.last.Compare(a.last) })
	out := make([]string, len(kept))
	for i, c := range kept {
		out[i] = c.id
	}
	return out
}

// eventIDs returns the dedup keys of the events of the interactions
// matching keep, most recently received first.
func (d day) eventIDs(keep func(scriptedCall) bool) []string {
	type ev struct {
		id string
		at time.Time
	}
	var evs []ev
	for _, c := range d.calls {
		if keep(c) {
			for i, id := range c.events {
				evs = append(evs, ev{id, c.eventAt[i]})
			}
		}
	}
	slices.SortFunc(evs, func(a, b ev) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.id, a.id)) })
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.id
	}
	return out
}

func (d day) call(id string) scriptedCall {
	for _, c := range d.calls {
		if c.id == id {
			return c
		}
	}
	panic("no call " + id)
}

// find returns the first interaction matching keep.
func (d day) find(keep func(scriptedCall) bool) scriptedCall {
	for _, c := range d.calls {
		if keep(c) {
			return c
		}
	}
	panic("the script has no such interaction")
}

// uniquePhone reports whether no other interaction of calls has c's phone.
func uniquePhone(c scriptedCall, calls []scriptedCall) bool {
	for _, o := range calls {
		if o.id != c.id && o.phone == c.phone {
			return false
		}
	}
	return c.phone != ""
}
