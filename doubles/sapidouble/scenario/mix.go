package scenario

import (
	"math/rand/v2"
	"time"
)

// NewRand returns the deterministic source the scripts expect for a seed.
func NewRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x8a8c0ffee))
}

// weightedFlow is one flow of Mix and its weight in percent.
type weightedFlow struct {
	weight int
	flow   func(r *rand.Rand, tenant string, start time.Time) Call
}

// mixFlows are Mix's flows; the weights add up to 100.
var mixFlows = []weightedFlow{
	{30, InboundAnswered},
	{22, OutboundCampaignAnswered},
	{14, OutboundNotAnswered},
	{5, OutboundBusy},
	{6, InboundAbandoned},
	{4, IVRHangup},
	{4, AgentRejectReoffer},
	{5, HoldUnhold},
	{4, Transfer},
	{6, func(r *rand.Rand, _ string, start time.Time) Call { return AgentBreak(r, start) }},
}

// Mix returns n flows for a demo, starting a few seconds to a minute apart
// from start: mostly answered inbound and campaign calls, then unanswered
// and busy campaign calls, abandoned and IVR hang-ups, rejected and
// re-offered calls, holds, transfers and agent breaks (weights in
// mixFlows).
func Mix(seed int64, tenant string, n int, start time.Time) []Call {
	r := NewRand(seed)
	calls := make([]Call, 0, n)
	at := start
	for range n {
		p := r.IntN(100)
		for _, wf := range mixFlows {
			if p < wf.weight {
				calls = append(calls, wf.flow(r, tenant, at))
				break
			}
			p -= wf.weight
		}
		at = at.Add(time.Duration(5+r.IntN(55)) * time.Second)
	}
	return calls
}

// Interleave merges the calls' events into one stream as concurrent calls
// produce it: the next event comes from a randomly chosen call, so each
// call's own events stay in order.
func Interleave(calls []Call, seed int64) [][]byte {
	r := NewRand(seed)
	next := make([]int, len(calls))
	var pending []int // calls with events left
	total := 0
	for i, c := range calls {
		if len(c.Events) > 0 {
			pending = append(pending, i)
			total += len(c.Events)
		}
	}
	out := make([][]byte, 0, total)
	for len(pending) > 0 {
		k := r.IntN(len(pending))
		i := pending[k]
		out = append(out, calls[i].Events[next[i]])
		next[i]++
		if next[i] == len(calls[i].Events) {
			pending = append(pending[:k], pending[k+1:]...)
		}
	}
	return out
}
