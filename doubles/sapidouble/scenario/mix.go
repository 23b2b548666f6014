package scenario

import (
	"math/rand/v2"
	"time"
)

// NewRand returns the deterministic source the scripts expect for a seed.
func NewRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x8a8c0ffee))
}

// Mix returns n flows for a demo: mostly inbound and campaign calls, some
// unanswered, now and then an agent break, starting a few seconds to a
// minute apart from start.
func Mix(seed int64, tenant string, n int, start time.Time) []Call {
	r := NewRand(seed)
	calls := make([]Call, 0, n)
	at := start
	for range n {
		switch p := r.IntN(100); {
		case p < 40:
			calls = append(calls, InboundAnswered(r, tenant, at))
		case p < 70:
			calls = append(calls, OutboundCampaignAnswered(r, tenant, at))
		case p < 90:
			calls = append(calls, OutboundNotAnswered(r, tenant, at))
		default:
			calls = append(calls, AgentBreak(r, at))
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
