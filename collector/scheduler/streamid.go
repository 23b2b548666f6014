package scheduler

import (
	"fmt"
	"strconv"
	"strings"
)

// partitionKey names one delivery stream.
type partitionKey struct {
	tenant    string
	partition int
}

// streamID is a Redis stream entry id, "<ms>-<seq>", ordered as Redis
// orders it.
type streamID struct{ ms, seq uint64 }

func parseStreamID(s string) (streamID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, fmt.Errorf("scheduler: malformed stream id %q", s)
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return streamID{}, fmt.Errorf("scheduler: malformed stream id %q", s)
	}
	return streamID{a, b}, nil
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

// LessStreamID reports whether stream id a comes before b, as Redis orders
// them. A malformed id comes first, so a read starting from the lesser of
// two ids never skips the well-formed one.
func LessStreamID(a, b string) bool {
	ia, errA := parseStreamID(a)
	ib, errB := parseStreamID(b)
	switch {
	case errA != nil:
		return errB == nil
	case errB != nil:
		return false
	}
	return ia.less(ib)
}
