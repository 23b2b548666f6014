// Package scheduler routes admitted events to connected dispatcher
// sessions while keeping the order of each order key (an interaction):
//
//   - at most one event per order key is unsettled at any time, across all
//     sessions, so order holds through retries, redeliveries and dispatchers
//     joining or leaving;
//   - the next event of a key is released only after the previous one's
//     settlement is durable in Redis, so a collector restart cannot deliver
//     an older event after a newer one;
//   - a key stays with one session while it has events (sticky), and a new
//     key picks its session by rendezvous hashing, so a dispatcher keeps its
//     interactions while the set of dispatchers is stable;
//   - a slow key blocks only itself: other keys flow through other slots.
//
// The scheduler owns the in-memory view of unsettled events; the event store
// owns their durable copy. All methods are safe for concurrent use.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
)

// Settler makes settlements durable. The event store implements it.
// Settle must be idempotent; the scheduler retries it until it succeeds.
type Settler interface {
	Settle(ctx context.Context, settlements []eventstore.Settlement) error
}

// Outcome is how a dispatcher settled a delivery.
type Outcome int

const (
	// Delivered: Regal accepted the event.
	Delivered Outcome = iota + 1
	// Skipped: the event is not sent (configuration or missing phone).
	Skipped
	// FailedRetryable: not delivered; deliver it again later.
	FailedRetryable
	// FailedPermanent: not delivered and never will be as is; dead-letter it.
	FailedPermanent
	// Paused: not delivered because Regal refuses the tenant's account.
	// Not settled and not an attempt: the tenant's deliveries wait, in
	// order, and one is offered again after RetryAfter as a probe. A
	// later Delivered or FailedPermanent of the tenant (Regal judged an
	// event, so the account works) ends the pause.
	Paused
)

// Result is a dispatcher's account of one delivery.
type Result struct {
	Outcome  Outcome
	Reason   string
	Attempts int
	Status   int
	// RetryAfter, with Paused, is when the dispatcher probes the tenant
	// again; 0 means Config.PauseDelay.
	RetryAfter time.Duration
}

// Delivery is one event handed to a session.
type Delivery struct {
	ID         uint64
	Entry      eventstore.Entry
	Redelivery int // earlier deliveries of this event that were not settled
}

// ErrClosed is returned by Session.Next after Leave or Shutdown.
var ErrClosed = errors.New("scheduler: session closed")

// ErrUnknownDelivery is returned by Ack for an id that is not in flight on
// the session (already acknowledged, or the session was reset).
var ErrUnknownDelivery = errors.New("scheduler: unknown delivery")

// Scheduler is the in-memory router. Create it with New, then Start.
type Scheduler struct {
	cfg     Config
	settler Settler
	onDone  func(eventstore.Entry, Result)
	// onRetry is told of each acknowledgement that did not settle its
	// entry (a retryable failure to be delivered again).
	onRetry func(e eventstore.Entry, r Result, dispatcher string)
	// metrics, when set, reports settlements and the scheduler's state.
	metrics *metrics
	// settled counts the settlements made durable.
	settled atomic.Int64

	mu   sync.Mutex
	keys map[heldKey]*keyQueue
	// highWater is, per (tenant, partition), the greatest stream id ever
	// enqueued. Entries reach Enqueue in stream-id order per partition (one
	// admitter per tenant; recovery finishes before admission starts), so
	// an id at or below it was enqueued before (and may be settled by now)
	// and must not be delivered again.
	highWater  map[partitionKey]streamID
	sessions   []*Session
	unassigned map[*keyQueue]struct{}
	inflight   map[uint64]*flight
	buffered   int
	nextID     uint64
	nextSess   uint64
	space      chan struct{} // closed and replaced when buffer space frees
	closed     bool
	draining   bool // hand out nothing new; see Drain

	settleCh  chan settleReq
	stopOnce  sync.Once
	stop      chan struct{}
	settleWG  sync.WaitGroup
	startOnce sync.Once
	timers    map[*keyQueue]*time.Timer

	// bufferedBytes is the EntryBytes of the buffered events.
	bufferedBytes int64
	// paused are the tenants whose deliveries wait because a dispatcher
	// answered "tenant paused".
	paused map[string]*tenantPause
	// held are the order keys held behind a parked dead letter (policy
	// hold): their events stay in Redis, not here, until Release.
	held map[heldKey]HeldKey
	// dropped are the tenants this collector stopped serving (DropTenant).
	dropped map[string]bool
}

// heldKey names an order key of a tenant: order keys are unique within a
// tenant only (an agent id, a family root), so keys and holds are by both.
type heldKey struct{ tenant, key string }

// HeldKey is an interaction held behind its dead-lettered event.
type HeldKey struct {
	Tenant    string
	Partition int
	OrderKey  string
	// From is the delivery-stream id of the parked (dead-lettered) event.
	From string
}

// tenantPause is one paused tenant: its keys wait in parked, and one is
// offered as a probe when the timer fires.
type tenantPause struct {
	tenant string
	until  time.Time
	timer  *time.Timer
	parked []*keyQueue // in parking order; a key with parked unset was released
	probe  *keyQueue   // offered as the probe and not yet answered
}

type keyQueue struct {
	key      string
	tenant   string
	events   []*item
	busy     bool // head is in flight or settling
	owner    *Session
	inReady  bool
	retrying bool // waiting out a retry delay
	tries    int  // consecutive retryable failures of the head
	parked   bool // waiting for its tenant's pause to end
	dropped  bool // its tenant was dropped: nothing of it is settled here
}

func (kq *keyQueue) ref() heldKey { return heldKey{kq.tenant, kq.key} }

type item struct {
	entry      eventstore.Entry
	bytes      int64 // eventstore.EntryBytes(entry), counted while buffered
	redelivery int
	attempts   int       // Regal attempts reported across deliveries
	failingAt  time.Time // first failed attempt, zero while none
}

type flight struct {
	id   uint64
	kq   *keyQueue
	it   *item
	sess *Session
}

type settleReq struct {
	st  eventstore.Settlement
	res Result
	kq  *keyQueue
	it  *item
}

// New returns a scheduler that makes settlements durable through settler.
// onDone, if not nil, is called after each settlement is durable (for
// metrics and logs); it must not block.
func New(cfg Config, settler Settler, onDone func(eventstore.Entry, Result), opts ...Option) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scheduler config: %w", err)
	}
	if onDone == nil {
		onDone = func(eventstore.Entry, Result) {}
	}
	s := &Scheduler{
		cfg: cfg, settler: settler, onDone: onDone,
		keys:       map[heldKey]*keyQueue{},
		highWater:  map[partitionKey]streamID{},
		unassigned: map[*keyQueue]struct{}{},
		inflight:   map[uint64]*flight{},
		space:      make(chan struct{}),
		settleCh:   make(chan settleReq, cfg.SettleBatch*4),
		stop:       make(chan struct{}),
		timers:     map[*keyQueue]*time.Timer{},
		paused:     map[string]*tenantPause{},
		held:       map[heldKey]HeldKey{},
		dropped:    map[string]bool{},
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s.onRetry = o.onRetry
	if o.meter != nil {
		m, err := newMetrics(o.meter, s, o.tenants)
		if err != nil {
			return nil, fmt.Errorf("scheduler metrics: %w", err)
		}
		s.metrics = m
	}
	return s, nil
}

// Start launches the settlement writer.
func (s *Scheduler) Start(context.Context) error {
	s.startOnce.Do(func() {
		s.settleWG.Add(1)
		go s.settleLoop()
	})
	return nil
}

// Shutdown closes every session, writes the settlements already received,
// and stops. Events not settled stay in Redis for the next start. It is
// idempotent and safe before Start.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, sess := range s.sessions {
		sess.closeLocked()
	}
	for kq, t := range s.timers {
		t.Stop()
		delete(s.timers, kq)
	}
	for _, tp := range s.paused {
		if tp.timer != nil {
			tp.timer.Stop()
		}
	}
	close(s.space)
	s.space = make(chan struct{})
	s.mu.Unlock()
	s.startOnce.Do(func() {}) // a later Start must not launch the loop
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() { s.settleWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduler shutdown: %w", ctx.Err())
	}
}

// Drain stops handing out deliveries and waits until every delivery in
// flight is acknowledged and its settlement is durable, or ctx ends. Call it
// before Shutdown so that a stopping collector does not cause redeliveries.
func (s *Scheduler) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		busy := len(s.inflight) > 0
		if !busy {
			for _, kq := range s.keys {
				if kq.busy {
					busy = true
					break
				}
			}
		}
		s.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("scheduler drain: %w", ctx.Err())
		}
	}
}

// Enqueue adds admitted entries in their order. The entries of one
// partition must come in stream-id order across calls; an entry at or below
// the partition's greatest enqueued id was enqueued before and is ignored,
// so an admission outcome can be offered again safely. Before each new
// entry it waits while MaxBuffered events or MaxBufferedBytes bytes are
// held, until space frees or ctx ends: the caller (the SAPI reader's
// admitter, or recovery at start) slows down instead of the buffer
// growing. An error leaves the entries before the failing one enqueued and
// the rest not (they stay in Redis).
func (s *Scheduler) Enqueue(ctx context.Context, entries []eventstore.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, e := range entries {
		if s.dropped[e.Ref.Tenant] {
			continue // another collector serves it now
		}
		pk := partitionKey{e.Ref.Tenant, e.Ref.Partition}
		id, err := parseStreamID(e.Ref.ID)
		if err != nil {
			return err
		}
		if s.knownLocked(pk, id) {
			continue
		}
		key := e.Event.GetOrderKey()
		if _, ok := s.held[heldKey{e.Ref.Tenant, key}]; !ok {
			// Only an entry kept here waits for space: a held one stays in
			// Redis.
			if err := s.waitSpaceLocked(ctx); err != nil {
				return err
			}
			if s.knownLocked(pk, id) || s.dropped[e.Ref.Tenant] { // enqueued, or dropped, while this one waited
				continue
			}
		}
		s.highWater[pk] = id
		if _, ok := s.held[heldKey{e.Ref.Tenant, key}]; ok {
			// Held behind a dead letter: the entry stays in Redis and is
			// read again when the interaction is released.
			continue
		}
		it := &item{entry: e, bytes: eventstore.EntryBytes(e)}
		s.buffered++
		s.bufferedBytes += it.bytes
		kq := s.keys[heldKey{e.Ref.Tenant, key}]
		if kq == nil {
			kq = &keyQueue{key: key, tenant: e.Ref.Tenant}
			s.keys[heldKey{e.Ref.Tenant, key}] = kq
		}
		kq.events = append(kq.events, it)
		if len(kq.events) == 1 && !kq.busy && !kq.retrying {
			s.assignLocked(kq)
		}
	}
	return nil
}

// knownLocked reports whether an entry at id of partition pk was enqueued
// before (ids at or below the partition's high-water mark).
func (s *Scheduler) knownLocked(pk partitionKey, id streamID) bool {
	hw, ok := s.highWater[pk]
	return ok && !hw.less(id)
}

// waitSpaceLocked waits, with s.mu released meanwhile, until the buffer is
// below both of its bounds. The bounds are soft by one entry: whatever its
// size, an entry goes in once the buffer is below them, so no entry can
// wait for space that its own size would never leave.
func (s *Scheduler) waitSpaceLocked(ctx context.Context) error {
	for {
		if s.closed {
			return ErrClosed
		}
		if s.buffered < s.cfg.MaxBuffered && s.bufferedBytes < s.cfg.MaxBufferedBytes {
			return nil
		}
		wait := s.space
		s.mu.Unlock()
		select {
		case <-wait:
			s.mu.Lock()
		case <-ctx.Done():
			s.mu.Lock()
			return ctx.Err()
		}
	}
}

// Join registers a dispatcher session. maxInFlight <= 0 takes the default.
func (s *Scheduler) Join(name string, maxInFlight int) *Session {
	if maxInFlight <= 0 {
		maxInFlight = s.cfg.DefaultMaxInFlight
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextSess++
	sess := &Session{sched: s, name: name, seq: s.nextSess, max: maxInFlight,
		wake: make(chan struct{}, 1), flights: map[uint64]*flight{}}
	if s.closed {
		sess.closed = true
		return sess
	}
	s.sessions = append(s.sessions, sess)
	for kq := range s.unassigned {
		delete(s.unassigned, kq)
		s.assignLocked(kq)
	}
	// A dispatcher that (re)starts may carry a fixed key: probe every
	// paused tenant at once rather than after its delay.
	for _, tp := range s.paused {
		if tp.probe == nil {
			if tp.timer != nil {
				tp.timer.Stop()
				tp.timer = nil
			}
			s.probeLocked(tp)
		}
	}
	return sess
}

// Leave removes a session. Its unsettled deliveries go back to the head of
// their keys and are delivered again, to this or another session, in order.
func (s *Scheduler) Leave(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.sessions {
		if x == sess {
			s.sessions = slices.Delete(s.sessions, i, i+1)
			break
		}
	}
	sess.closeLocked()
	for id, f := range sess.flights {
		delete(s.inflight, id)
		f.kq.busy = false
		f.it.redelivery++
	}
	sess.flights = map[uint64]*flight{}
	sess.bytes = 0
	// Reassign every key this session owned and that is not settling.
	for _, kq := range s.keys {
		if kq.owner != sess {
			continue
		}
		kq.owner = nil
		kq.inReady = false
		if !kq.busy && !kq.retrying && len(kq.events) > 0 {
			s.assignLocked(kq)
		}
	}
	sess.ready = nil
}

// Ack settles a delivery of sess. Delivered, skipped and permanently failed
// deliveries are written to Redis (dead letters for the latter) before the
// key's next event is released; a retryable failure is delivered again after
// a delay.
func (s *Scheduler) Ack(sess *Session, id uint64, res Result) error {
	s.mu.Lock()
	f, ok := sess.flights[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d", ErrUnknownDelivery, id)
	}
	delete(sess.flights, id)
	delete(s.inflight, id)
	sess.bytes -= f.it.bytes
	sess.signalLocked()
	if res.Outcome == Paused {
		// Not an attempt: the event's budget is untouched.
		f.it.redelivery++
		f.kq.busy = false
		s.pauseLocked(f.kq, res.RetryAfter)
		s.mu.Unlock()
		if s.onRetry != nil {
			s.onRetry(f.it.entry, res, sess.name)
		}
		return nil
	}
	if res.Outcome == Delivered || (res.Outcome == FailedPermanent && res.Status != 0) {
		// Regal judged an event, so the tenant's account works: any pause
		// ends. A skip, a transient failure or a dead letter the dispatcher
		// decided without asking Regal (no phone, not translatable) says
		// nothing about it.
		s.resumeLocked(f.kq.tenant)
	}
	f.it.attempts += res.Attempts
	if res.Outcome == FailedRetryable {
		if res.Attempts > 0 && f.it.failingAt.IsZero() {
			f.it.failingAt = time.Now()
		}
		if !s.budgetSpentLocked(f.it) {
			f.it.redelivery++
			s.retryLaterLocked(f.kq)
			s.mu.Unlock()
			if s.onRetry != nil {
				s.onRetry(f.it.entry, res, sess.name)
			}
			return nil
		}
		res.Outcome = FailedPermanent
		res.Reason = fmt.Sprintf("retry budget spent (%d attempts over %s): %s",
			f.it.attempts, time.Since(f.it.failingAt).Round(time.Second), res.Reason)
	}
	f.kq.tries = 0
	attempts := f.it.attempts
	s.mu.Unlock()
	st := eventstore.Settlement{Entry: f.it.entry}
	if res.Outcome == FailedPermanent {
		st.Dead = &eventstore.DeadLetter{Reason: res.Reason, Attempts: attempts, Status: res.Status, At: time.Now(),
			Hold: s.cfg.DeadLetterPolicy == PolicyHold}
	}
	select {
	case s.settleCh <- settleReq{st: st, res: res, kq: f.kq, it: f.it}:
		return nil
	case <-s.stop:
		return ErrClosed
	}
}

// budgetSpentLocked reports whether an event that failed again has used up
// its retry budget.
func (s *Scheduler) budgetSpentLocked(it *item) bool {
	return it.attempts >= s.cfg.MaxAttempts ||
		(!it.failingAt.IsZero() && time.Since(it.failingAt) >= s.cfg.MaxRetryAge)
}

func (s *Scheduler) retryLaterLocked(kq *keyQueue) {
	kq.busy = false
	kq.retrying = true
	kq.tries++
	delay := s.cfg.RetryDelayMin << min(kq.tries-1, 16)
	if delay > s.cfg.RetryDelayMax || delay <= 0 {
		delay = s.cfg.RetryDelayMax
	}
	s.timers[kq] = time.AfterFunc(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.timers, kq)
		kq.retrying = false
		if !s.closed && len(kq.events) > 0 && !kq.busy {
			s.assignLocked(kq)
		}
	})
}

// settleLoop writes settlements in batches, retrying until Redis takes
// them, then releases each key's next event.
func (s *Scheduler) settleLoop() {
	defer s.settleWG.Done()
	batch := make([]settleReq, 0, s.cfg.SettleBatch)
	sts := make([]eventstore.Settlement, 0, s.cfg.SettleBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		batch = batch[:0]
		select {
		case r := <-s.settleCh:
			batch = append(batch, r)
		case <-s.stop:
			// Drain what was acknowledged before the stop.
			for {
				select {
				case r := <-s.settleCh:
					batch = append(batch, r)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				s.writeSettlements(batch, sts, true)
			}
			return
		}
		batch = s.fillSettleBatch(batch, linger)
		s.writeSettlements(batch, sts, false)
		// A burst fills the batch to its cap and quiet times use only its
		// head: without this, the tail would keep the burst's entries (and
		// their events) alive until the next burst, scattered over the heap.
		clear(batch)
	}
}

// fillSettleBatch adds the settlements already queued and, with a
// linger, those arriving within it, until the batch is full.
func (s *Scheduler) fillSettleBatch(batch []settleReq, linger *time.Timer) []settleReq {
	for len(batch) < cap(batch) {
		select {
		case r := <-s.settleCh:
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	if s.cfg.SettleLinger <= 0 || len(batch) == cap(batch) {
		return batch
	}
	linger.Reset(s.cfg.SettleLinger)
	defer linger.Stop()
	for len(batch) < cap(batch) {
		select {
		case r := <-s.settleCh:
			batch = append(batch, r)
		case <-linger.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
	return batch
}

func (s *Scheduler) writeSettlements(batch []settleReq, sts []eventstore.Settlement, final bool) {
	defer func() { clear(sts) }() // the caller reuses the array; let the entries go
	backoff := 50 * time.Millisecond
	for {
		// The settlements of a dropped tenant are the new holder's to make.
		batch = s.liveOnly(batch)
		if len(batch) == 0 {
			return
		}
		sts = sts[:0]
		for _, r := range batch {
			sts = append(sts, r.st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.settler.Settle(ctx, sts)
		cancel()
		if err == nil {
			break
		}
		var fenced *eventstore.FencedError
		if errors.As(err, &fenced) && s.dropsAny(batch, fenced.Tenants) {
			// Another collector serves these tenants now: stop serving
			// them. A bare *FencedError says the others' settlements were
			// made; otherwise they are written again (idempotent).
			for _, t := range fenced.Tenants {
				s.DropTenant(t)
			}
			if _, only := err.(*eventstore.FencedError); only {
				batch = s.liveOnly(batch)
				break
			}
			continue
		}
		if final {
			// Shutting down: the entries stay in Redis and are delivered
			// again after the restart (at-least-once).
			return
		}
		select {
		case <-time.After(backoff):
		case <-s.stop:
			return
		}
		backoff = min(backoff*2, 2*time.Second)
	}
	s.mu.Lock()
	for _, r := range batch {
		kq := r.kq
		if kq.dropped { // dropped while its settlement was written: forgotten already
			continue
		}
		if len(kq.events) > 0 && kq.events[0] == r.it {
			kq.events[0] = nil // the array outlives the pop while the key has events
			kq.events = kq.events[1:]
		}
		kq.busy = false
		s.buffered--
		s.bufferedBytes -= r.it.bytes
		if d := r.st.Dead; d != nil && d.Hold {
			// The event is parked in Redis and holds its interaction: the
			// later events wait there, not here, until Release.
			ref := r.st.Entry.Ref
			s.held[heldKey{ref.Tenant, kq.key}] = HeldKey{Tenant: ref.Tenant, Partition: ref.Partition, OrderKey: kq.key, From: ref.ID}
			s.buffered -= len(kq.events)
			for _, it := range kq.events {
				s.bufferedBytes -= it.bytes
			}
			clear(kq.events)
			kq.events = nil
		}
		switch {
		case len(kq.events) == 0:
			s.forgetLocked(kq)
		case !kq.retrying && !s.closed:
			s.assignLocked(kq)
		}
	}
	close(s.space)
	s.space = make(chan struct{})
	s.mu.Unlock()
	for _, r := range batch {
		s.settled.Add(1)
		s.metrics.settledOne(r.res.Outcome)
		s.onDone(r.st.Entry, r.res)
	}
}

// assignLocked makes the head of kq ready on its session. Preconditions: kq
// has events, is not busy and not waiting for a retry.
func (s *Scheduler) assignLocked(kq *keyQueue) {
	if kq.inReady || s.parkLocked(kq) {
		return
	}
	if kq.owner == nil || kq.owner.closed {
		kq.owner = s.pickLocked(kq.key)
	}
	if kq.owner == nil {
		s.unassigned[kq] = struct{}{}
		return
	}
	kq.inReady = true
	kq.owner.ready = append(kq.owner.ready, kq)
	kq.owner.signalLocked()
}

// pickLocked chooses the session for a key by rendezvous hashing on the
// session name, so a reconnecting dispatcher gets its keys back.
func (s *Scheduler) pickLocked(key string) *Session {
	var best *Session
	var bestScore uint64
	for _, sess := range s.sessions {
		h := fnv.New64a()
		_, _ = h.Write([]byte(sess.name))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(key))
		score := h.Sum64()
		if best == nil || score > bestScore || (score == bestScore && sess.seq > best.seq) {
			best, bestScore = sess, score
		}
	}
	return best
}

// Stats is a snapshot for metrics and tests.
type Stats struct {
	Buffered int
	// BufferedBytes is what the buffered events hold (eventstore.EntryBytes).
	BufferedBytes int64
	Keys          int
	InFlight      int
	Sessions      int
	// InFlightBy is the in-flight count per session name.
	InFlightBy map[string]int
	// InFlightBytesBy is the bytes in flight per session name.
	InFlightBytesBy map[string]int64
	// Paused are the tenants whose deliveries wait because Regal refuses
	// their account, with the number of interactions waiting.
	Paused map[string]int
	// Held counts, per tenant, the interactions held behind a dead letter.
	Held map[string]int
	// Settled counts the settlements made durable since New.
	Settled int64
}

// Stats returns a snapshot.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := make(map[string]int, len(s.sessions))
	bytesBy := make(map[string]int64, len(s.sessions))
	for _, sess := range s.sessions {
		by[sess.name] += len(sess.flights)
		bytesBy[sess.name] += sess.bytes
	}
	paused := make(map[string]int, len(s.paused))
	for t, tp := range s.paused {
		n := 0
		for _, kq := range tp.parked {
			if kq.parked {
				n++
			}
		}
		paused[t] = n
	}
	held := map[string]int{}
	for k := range s.held {
		held[k.tenant]++
	}
	return Stats{Buffered: s.buffered, BufferedBytes: s.bufferedBytes, Keys: len(s.keys), InFlight: len(s.inflight),
		Sessions: len(s.sessions), InFlightBy: by, InFlightBytesBy: bytesBy, Paused: paused, Held: held,
		Settled: s.settled.Load()}
}
