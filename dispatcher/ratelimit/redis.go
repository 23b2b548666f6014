package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLimiter shares one GCRA limit through a Redis key. It reserves
// slots in batches (reserve.go), keeps them in a pool, and gives them to
// its waiting callers in arrival order, each at its slot's time.
//
// Why the sum stays within rate·d + burst: the script grants slots within
// rate·d + sharedBurst over any period d; a slot is never used before its
// time; and a process keeps at most prefetch unused slots, so at most
// processes·prefetch slots granted before a period are used in it, and
// sharedBurst + processes·prefetch = burst.
//
// The rate adapts (see Adaptive): the rate set by the last decrease and
// its time live in Redis next to the limit (adaptiveKey), the scripts
// derive the current rate from them, and shared mirrors them on the local
// clock for Rate and for skipping refusals within the hold-off without a
// round trip.
type redisLimiter struct {
	rdb         redis.UniversalClient
	key         string
	keys        []string // the scripts' KEYS: key, adaptiveKey(key)
	ceilingArg  string   // the ceiling as the scripts' argument
	stepArg     string   // the recovery per second as the scripts' argument
	throttleArg []any    // throttleScript's ARGV
	sharedBurst int      // burst − processes·prefetch, given to the script
	opts        redisOptions
	fallback    Adaptive
	logger      *slog.Logger

	mu         sync.Mutex
	queue      []*waiter   // callers in arrival order, some canceled
	unslotted  int         // callers in queue still waiting for a slot
	pool       []time.Time // reserved slots not given out, earliest first
	pending    int         // slots given out whose time has not come
	reserving  bool        // a reservation or a probe is in flight
	reserved   uint64      // number of reservations started, naming the one in flight
	degraded   bool        // Redis failed; callers use fallback
	nextProbe  time.Time   // when a degraded limiter tries Redis again
	shared     aimd        // the shared rate's last decrease as last seen, on the local clock
	throttling bool        // a throttleScript call is in flight
}

// waiter is one Wait call waiting for its turn. Its fields are written
// under the limiter's mutex, and ready is closed once it has a slot or has
// been sent to the fallback.
type waiter struct {
	ready    chan struct{}
	slot     time.Time
	pending  bool // slot was in the future when given, counted in pending
	fallback bool
	canceled bool
}

// NewRedis returns an Adaptive limiter shared by every process using key
// on the same Redis: rate requests per second in total at most (its
// ceiling; less after refusals, see Adaptive and WithAdaptation), up to
// burst at once after an idle period. Use Key for the key of a Regal
// account. It panics when rate is not a positive finite number or burst is
// less than 1.
//
// Redis's clock decides; the processes' clocks do not matter. When Redis
// cannot be reached (an error or a reservation slower than
// WithRedisTimeout), the limiter logs a warning once and limits locally
// at rate/processes with burst/processes (see WithProcesses), adapting on
// its own, and tries
// Redis again every WithRetryInterval and logs when it is back.
//
// A limiter runs no goroutine of its own beyond one reservation at a time,
// which ends with the client's own timeouts, so it needs no Close.
func NewRedis(rdb redis.UniversalClient, key string, rate float64, burst int, opts ...Option) Adaptive {
	mustBeValid(rate, burst)
	var o redisOptions
	for _, opt := range opts {
		opt(&o)
	}
	o = o.resolve(rate, burst)
	shared := newAIMD(rate, o.adaptation)
	arg := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	return &redisLimiter{
		rdb:        rdb,
		key:        key,
		keys:       []string{key, adaptiveKey(key)},
		ceilingArg: arg(rate),
		stepArg:    arg(shared.step),
		throttleArg: []any{arg(rate), arg(shared.step), arg(shared.factor), arg(shared.floor), shared.holdOff.Microseconds(),
			burst - o.processes*o.prefetch},
		sharedBurst: burst - o.processes*o.prefetch,
		opts:        o,
		fallback: NewLocal(rate/float64(o.processes), max(1, burst/o.processes),
			WithAdaptation(o.adaptation)),
		logger: o.logger,
		shared: shared,
	}
}

// Wait implements Limiter.
func (l *redisLimiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	if l.degraded && len(l.pool) == 0 {
		l.probeIfDue(time.Now())
		l.mu.Unlock()
		return l.fallback.Wait(ctx)
	}
	w := &waiter{ready: make(chan struct{})}
	l.queue = append(l.queue, w)
	l.unslotted++
	l.dispatch(time.Now())
	l.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
		l.mu.Lock()
		served := w.fallback || !w.slot.IsZero()
		if !served {
			w.canceled = true
			l.unslotted--
		}
		l.mu.Unlock()
		if !served {
			return ctx.Err()
		}
	}
	if w.fallback {
		return l.fallback.Wait(ctx)
	}
	return l.awaitSlot(ctx, w)
}

// awaitSlot sleeps until w's slot comes, or gives the slot back when ctx
// ends first.
func (l *redisLimiter) awaitSlot(ctx context.Context, w *waiter) error {
	if d := time.Until(w.slot); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			l.giveBack(w)
			return ctx.Err()
		}
	}
	if w.pending {
		l.mu.Lock()
		l.pending--
		l.dispatch(time.Now())
		l.mu.Unlock()
	}
	return nil
}

// giveBack returns the slot of a canceled waiter to the pool, where the
// next caller gets it.
func (l *redisLimiter) giveBack(w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.pending {
		l.pending--
	}
	l.pool = insertSorted(l.pool, w.slot)
	l.dispatch(time.Now())
}

// dispatch drops stale slots, then settles: see dropStale and settle.
// The caller holds l.mu.
func (l *redisLimiter) dispatch(now time.Time) {
	l.dropStale(now)
	l.settle(now)
}

// dropStale keeps at most prefetch slots in the pool whose time has come,
// dropping the oldest. Slots are dropped only here, before any is given
// out, so a process never uses more than prefetch slots that were due
// before the moment it uses them. The caller holds l.mu.
func (l *redisLimiter) dropStale(now time.Time) {
	due := 0
	for due < len(l.pool) && !l.pool[due].After(now) {
		due++
	}
	if extra := due - l.opts.prefetch; extra > 0 {
		l.pool = slices.Delete(l.pool, 0, extra)
	}
}

// settle gives pooled slots to waiting callers in arrival order, then
// drops the stale ones left, and starts a reservation when callers still
// wait and the process holds half its batch (adaptedBatch) or less. When
// degraded, the callers left go to the fallback. The caller holds l.mu.
func (l *redisLimiter) settle(now time.Time) {
	for len(l.pool) > 0 && l.unslotted > 0 {
		w := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		if w.canceled {
			continue
		}
		w.slot, l.pool = l.pool[0], l.pool[1:]
		if w.slot.After(now) {
			w.pending = true
			l.pending++
		}
		l.unslotted--
		close(w.ready)
	}
	l.dropStale(now)
	switch {
	case l.unslotted == 0:
		clear(l.queue)
		l.queue = l.queue[:0]
	case l.degraded:
		l.sendQueueToFallback()
	default:
		if batch := l.adaptedBatch(now); !l.reserving && l.held() <= batch/2 {
			l.startReservation(min(l.unslotted+l.opts.prefetch, batch-l.held()))
		}
	}
}

// adaptedBatch is the batch scaled by the shared rate's share of its
// ceiling (the batch itself at the ceiling): the slots a process holds
// span the same time at any rate, so that those handed out before a
// decrease, which no Throttled takes back, are few. The caller holds l.mu.
func (l *redisLimiter) adaptedBatch(now time.Time) int {
	return max(1, int(math.Ceil(float64(l.opts.batch)*l.shared.current(now)/l.shared.ceiling)))
}

// held is the number of slots the process holds: in the pool or given out
// and not yet due. The caller holds l.mu.
func (l *redisLimiter) held() int {
	return len(l.pool) + l.pending
}

// sendQueueToFallback releases every waiting caller to the local
// fallback. The caller holds l.mu.
func (l *redisLimiter) sendQueueToFallback() {
	for _, w := range l.queue {
		if !w.canceled {
			w.fallback = true
			close(w.ready)
		}
	}
	clear(l.queue)
	l.queue = l.queue[:0]
	l.unslotted = 0
}

// insertSorted inserts t into the ascending slice slots.
func insertSorted(slots []time.Time, t time.Time) []time.Time {
	i := len(slots)
	for i > 0 && slots[i-1].After(t) {
		i--
	}
	slots = append(slots, time.Time{})
	copy(slots[i+1:], slots[i:])
	slots[i] = t
	return slots
}
