package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Adaptive is a Limiter whose rate follows the destination's refusals,
// between a floor and the ceiling it was built with (additive increase,
// multiplicative decrease).
//
// Throttled reports that the destination refused a request for its rate
// (Regal's 429). The rate drops to Adaptation.Decrease times its current
// value, not below the floor, at most once per Adaptation.HoldOff: the
// refusals of requests already granted at the old rate are one event, not
// one decrease each. A decrease also spends the burst: the destination's
// own is used up when it refuses, so the next slots come after a pause of
// up to (burst − 1) intervals of the new rate (never longer than the
// hold-off). From a decrease on, the rate regains Adaptation.Recovery of
// the ceiling per second, up to the ceiling. A
// limiter that is never told of a refusal keeps its ceiling and behaves
// as a plain Limiter. Throttled may block for one Redis round trip
// (bounded by WithRedisTimeout); ctx bounds it too.
//
// Rate is the current rate in requests per second. For NewRedis the rate
// is shared through Redis by every limiter on the key: a refusal seen by
// one process slows them all, and Rate is the shared rate as this process
// last saw it (each reservation and each Throttled brings it up to date;
// in between it follows the recovery). While Redis is unreachable it is
// the local fallback's rate times WithProcesses, the total it assumes.
//
// Both are safe for concurrent use, with each other and with Wait.
type Adaptive interface {
	Limiter
	Throttled(ctx context.Context)
	Rate() float64
}

// Adaptation says how an Adaptive limiter follows refusals. Zero fields
// take the defaults.
type Adaptation struct {
	// Decrease multiplies the rate on a refusal; in (0, 1) (default
	// DefaultDecrease).
	Decrease float64
	// HoldOff is the least time between two decreases (default
	// DefaultHoldOff): long enough for the requests granted before a
	// decrease to have been answered.
	HoldOff time.Duration
	// Recovery is the rate regained per second after a decrease, as a
	// fraction of the ceiling; in (0, 1] (default DefaultRecovery).
	Recovery float64
	// Floor is the lowest rate, as a fraction of the ceiling; in (0, 1]
	// (default DefaultFloor). It keeps a storm of refusals (an outage
	// answered with 429s) from stopping the limiter for long after it.
	Floor float64
}

// Defaults of Adaptation.
const (
	DefaultDecrease = 0.7
	DefaultHoldOff  = time.Second
	DefaultRecovery = 0.05
	DefaultFloor    = 0.05
)

// WithAdaptation sets how the limiter follows refusals (see Adaptive); it
// applies to NewLocal and NewRedis. It panics on values out of range.
func WithAdaptation(a Adaptation) Option {
	a = a.withDefaults()
	if err := a.validate(); err != nil {
		panic(err.Error())
	}
	return func(o *redisOptions) { o.adaptation = a }
}

func (a Adaptation) withDefaults() Adaptation {
	if a.Decrease == 0 {
		a.Decrease = DefaultDecrease
	}
	if a.HoldOff == 0 {
		a.HoldOff = DefaultHoldOff
	}
	if a.Recovery == 0 {
		a.Recovery = DefaultRecovery
	}
	if a.Floor == 0 {
		a.Floor = DefaultFloor
	}
	return a
}

func (a Adaptation) validate() error {
	switch {
	case !(a.Decrease > 0 && a.Decrease < 1):
		return fmt.Errorf("ratelimit: adaptation decrease %v is not in (0, 1)", a.Decrease)
	case a.HoldOff < 0:
		return fmt.Errorf("ratelimit: adaptation hold-off %s is negative", a.HoldOff)
	case !(a.Recovery > 0 && a.Recovery <= 1):
		return fmt.Errorf("ratelimit: adaptation recovery %v is not in (0, 1]", a.Recovery)
	case !(a.Floor > 0 && a.Floor <= 1):
		return fmt.Errorf("ratelimit: adaptation floor %v is not in (0, 1]", a.Floor)
	}
	return nil
}

// aimd is the state of an adaptive rate: the rate set by the last
// decrease and when, from which the current rate follows. The Redis
// limiter's script does the same arithmetic on the server's clock.
type aimd struct {
	ceiling float64 // requests/s
	step    float64 // requests/s regained per second
	floor   float64 // requests/s
	factor  float64
	holdOff time.Duration

	rate float64   // set by the last decrease
	at   time.Time // of the last decrease; zero: none, the rate is the ceiling
}

func newAIMD(ceiling float64, a Adaptation) aimd {
	a = a.withDefaults()
	return aimd{ceiling: ceiling, step: a.Recovery * ceiling, floor: math.Min(ceiling, a.Floor*ceiling),
		factor: a.Decrease, holdOff: a.HoldOff}
}

// current is the rate at now.
func (s *aimd) current(now time.Time) float64 {
	if s.at.IsZero() {
		return s.ceiling
	}
	return math.Min(s.ceiling, s.rate+s.step*max(0, now.Sub(s.at).Seconds()))
}

// holding reports whether a refusal at now falls within the hold-off of
// the last decrease.
func (s *aimd) holding(now time.Time) bool {
	return !s.at.IsZero() && now.Sub(s.at) < s.holdOff
}

// throttle decreases the rate at now unless holding, and reports whether
// it did.
func (s *aimd) throttle(now time.Time) bool {
	if s.holding(now) {
		return false
	}
	s.rate, s.at = math.Max(s.floor, s.current(now)*s.factor), now
	return true
}
