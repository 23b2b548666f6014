package bench

import (
	"time"

	"github.com/ccbridge/bridge/test/chaos"
)

// Scripted calls are made batch by batch, so a long run never holds all
// its lines: callsPerBatch calls per batch, wave of them interleaved at a
// time, each batch with a seed and a start of its own (distinct
// interactions, distinct timestamps). The next batch is made in the
// background while the current one is published, so pacing does not
// stall on it.
const (
	callsPerBatch = 1000
	wave          = 200
	tenant        = "benchcorp01"
)

// scriptStart is when the first batch's calls begin; batch b starts b
// hours later.
var scriptStart = time.Unix(1724685483, 0)

// batch is one batch of scripted lines, or the error making it.
type batch struct {
	lines [][]byte
	err   error
}

// script hands out scripted SAPI lines in order, up to a total.
type script struct {
	seed    int64
	left    int        // lines still to hand out
	pending [][]byte   // the current batch's lines not handed out yet
	made    int64      // batches asked for so far
	ahead   chan batch // the batch being made; nil when none is needed
}

func newScript(seed int64, total int) *script {
	s := &script{seed: seed, left: total}
	s.ahead = s.makeBatch()
	return s
}

// makeBatch starts making the next batch in the background.
func (s *script) makeBatch() chan batch {
	b := s.made
	s.made++
	out := make(chan batch, 1)
	go func() {
		lines, err := chaos.ScenarioEvents(s.seed+b*7919, tenant, callsPerBatch, wave,
			scriptStart.Add(time.Duration(b)*time.Hour))
		out <- batch{lines, err}
	}()
	return out
}

// next returns up to n further lines; none when the script is done.
func (s *script) next(n int) ([][]byte, error) {
	n = min(n, s.left)
	out := make([][]byte, 0, n)
	for len(out) < n {
		if len(s.pending) == 0 {
			b := <-s.ahead
			if b.err != nil {
				return nil, b.err
			}
			s.pending, s.ahead = b.lines, nil
		}
		take := min(n-len(out), len(s.pending))
		out = append(out, s.pending[:take]...)
		s.pending = s.pending[take:]
	}
	s.left -= n
	if s.ahead == nil && s.left > len(s.pending) {
		s.ahead = s.makeBatch() // more lines will be needed than are left
	}
	return out, nil
}
