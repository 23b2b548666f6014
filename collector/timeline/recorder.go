package timeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
)

// RecorderOptions tune a Recorder.
type RecorderOptions struct {
	// QueueSize bounds the changes waiting to be written; above it new
	// changes are dropped and counted (default 8192: with QueueBytes, a
	// burst of several thousand events; the slots, 128 bytes each, are
	// resident once cycled through).
	QueueSize int
	// QueueBytes bounds the memory of the queued changes, counted as the
	// event bytes each keeps alive (see changeBytes); above it new changes
	// are dropped and counted too (default 8 MiB: about 1,500 received
	// events of 8x8's size with their later changes, a second or two at
	// 1,000 events/s and minutes at a contact center's usual rate, enough
	// for a burst or a Redis hiccup). What the queue holds is the
	// collector's memory above its steady state: at 32 MiB a stalled
	// timeline Redis took the collector from ~66 to ~100 MB and back. A
	// count alone let a slow Redis hold 16,384 full events (~80 MiB).
	QueueBytes int64
	// BatchSize bounds the changes written in one pipeline (default 1024).
	BatchSize int
	// Linger is how long the writer waits for more changes after the
	// first of a batch (default 20ms; negative: not at all). With
	// appendfsync always Redis fsyncs once per write, so a steady trickle
	// of changes costs tens of fsyncs a second instead of hundreds, which
	// the admission of new events would queue behind. Queries and
	// watchers see a change at most this much later.
	Linger time.Duration
	// WriteTimeout bounds one pipeline (default 5s).
	WriteTimeout time.Duration
	// Attempts is how many times a failed batch is written before it is
	// dropped and counted (default 3).
	Attempts int
	Logger   *slog.Logger
	// Meter, when set, reports the recorder's counters and queued bytes
	// (ccb.collector.timeline.changes and .queued_bytes).
	Meter metric.Meter
}

func (o *RecorderOptions) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 8 << 20
	}
	if o.Linger == 0 {
		o.Linger = 20 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1024
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Recorder is the collector's way to write the timeline: its methods queue
// changes and return at once, never waiting for Redis; one goroutine
// writes them in batches, in the order they were queued. The timeline is
// a record for people, not part of delivery: when the queue is full or
// Redis keeps failing, changes are dropped and counted (RecorderStats),
// never waited for.
//
// Call its methods in the order things happen to an event: Admitted before
// the events are enqueued for delivery, then Dispatched, Retrying and
// Settled. All methods are safe for concurrent use.
type Recorder struct {
	store *Store
	opts  RecorderOptions
	now   func() time.Time

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	queue  chan Change
	done   chan struct{}

	recorded, dropped, failed, writes atomic.Int64
	// queuedBytes is the changeBytes of the changes queued or being
	// written.
	queuedBytes atomic.Int64
}

// RecorderStats counts what a recorder did with the changes it was given.
type RecorderStats struct {
	// Recorded were written to Redis.
	Recorded int64
	// Dropped found the queue full (or the recorder closed).
	Dropped int64
	// Failed were given up after Redis failed Attempts times.
	Failed int64
	// Writes is the batches written (one Redis pipeline each).
	Writes int64
	// QueuedBytes is what the changes queued or being written keep alive
	// (see RecorderOptions.QueueBytes), at the moment of the call.
	QueuedBytes int64
}

// changeOverheadBytes is what a queued change holds besides its event:
// its reason and dispatcher strings and its share of a written batch.
const changeOverheadBytes = 128

// changeBytes is what a queued change keeps in memory: the event it points
// to (eventstore.EventBytes: decoded fields, raw frame, attached data) and
// the stored encoding when it carries it. Every change counts its whole
// event: after settlement the timeline's queue may be the event's last
// holder, and while the scheduler holds it too the bound errs on the safe
// side.
func changeBytes(c Change) int64 {
	return changeOverheadBytes + eventstore.EventBytes(c.Event) + int64(cap(c.Payload))
}

// NewRecorder starts a recorder writing to store. Close stops it.
func NewRecorder(store *Store, opts RecorderOptions) (*Recorder, error) {
	opts.defaults()
	r := &Recorder{store: store, opts: opts, now: time.Now,
		queue: make(chan Change, opts.QueueSize), done: make(chan struct{})}
	if opts.Meter != nil {
		if err := r.observe(opts.Meter); err != nil {
			return nil, fmt.Errorf("timeline recorder metrics: %w", err)
		}
	}
	go r.run()
	return r, nil
}

// observe registers the gauges of the recorder's counters, read at
// scrape time.
func (r *Recorder) observe(m metric.Meter) error {
	changes, err1 := m.Int64ObservableCounter("ccb.collector.timeline.changes", metric.WithDescription("Timeline changes (what happened to an event, for the query API), by result: recorded, dropped (queue full) or failed (Redis kept failing)."), metric.WithUnit("{change}"))
	queued, err2 := m.Int64ObservableGauge("ccb.collector.timeline.queued_bytes", metric.WithDescription("Event bytes held by timeline changes waiting to be written (bounded; above the bound changes are dropped)."), metric.WithUnit("By"))
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		rs := r.Stats()
		o.ObserveInt64(changes, rs.Recorded, metric.WithAttributes(attribute.String("result", "recorded")))
		o.ObserveInt64(changes, rs.Dropped, metric.WithAttributes(attribute.String("result", "dropped")))
		o.ObserveInt64(changes, rs.Failed, metric.WithAttributes(attribute.String("result", "failed")))
		o.ObserveInt64(queued, rs.QueuedBytes)
		return nil
	}, changes, queued)
	return err
}

// Admitted records an admission batch: every event with its dedup verdict
// (duplicates included). Call it after eventstore.Store.Admit and before
// the entries are enqueued for delivery.
func (r *Recorder) Admitted(adm []eventstore.Admission) {
	for _, a := range adm {
		e := a.Entry
		at := r.now()
		if ts := e.Event.GetReceivedAt(); ts.IsValid() {
			at = ts.AsTime()
		}
		r.enqueue(Change{Type: ChangeReceived, At: at, Event: e.Event, Payload: e.Payload, Verdict: a.Verdict})
	}
}

// Dispatched records that an entry was handed to a dispatcher.
func (r *Recorder) Dispatched(e eventstore.Entry, dispatcher string, redelivery int) {
	r.enqueue(Change{Type: ChangeDispatched, At: r.now(), Event: e.Event, Dispatcher: dispatcher, Redelivery: redelivery})
}

// Retrying records a delivery that failed and will be made again: an
// acknowledgement that did not settle the entry. Do not call it for the
// acknowledgement that ends in a settlement (Settled records that one,
// with its attempts).
func (r *Recorder) Retrying(e eventstore.Entry, res scheduler.Result, dispatcher string) {
	r.enqueue(Change{Type: ChangeRetrying, At: r.now(), Event: e.Event, RegalStatus: res.Status,
		Attempts: res.Attempts, Reason: res.Reason, Dispatcher: dispatcher})
}

// Settled records a durable settlement. Its signature is the scheduler's
// onDone callback's.
func (r *Recorder) Settled(e eventstore.Entry, res scheduler.Result) {
	c := Change{At: r.now(), Event: e.Event, RegalStatus: res.Status, Attempts: res.Attempts, Reason: res.Reason}
	switch res.Outcome {
	case scheduler.Delivered:
		c.Type = ChangeDelivered
	case scheduler.Skipped:
		c.Type = ChangeSkipped
	case scheduler.FailedPermanent:
		c.Type = ChangeDeadLettered
	default:
		c.Type = ChangeRetrying
	}
	r.enqueue(c)
}

// Stats returns the counters.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Recorded: r.recorded.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load(),
		Writes: r.writes.Load(), QueuedBytes: r.queuedBytes.Load()}
}

// Close stops accepting changes, writes the queued ones and returns when
// they are written or ctx ends. Idempotent.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue queues c, which keeps n bytes alive (changeBytes), or drops and
// counts it when the queue is full.
func (r *Recorder) enqueue(c Change) {
	if !kept(c.Event) {
		return
	}
	n := changeBytes(c) // only for changes kept: sizing walks the event
	c.held = n
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.dropped.Add(1)
		return
	}
	if r.queuedBytes.Add(n) > r.opts.QueueBytes {
		r.queuedBytes.Add(-n)
		r.dropped.Add(1)
		return
	}
	select {
	case r.queue <- c:
	default:
		r.queuedBytes.Add(-n)
		r.dropped.Add(1)
	}
}

// run writes batches until the queue is closed and drained.
func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Change, 0, r.opts.BatchSize)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for c := range r.queue {
		batch = append(batch[:0], c)
		if r.opts.Linger > 0 {
			linger.Reset(r.opts.Linger)
		}
	fill:
		for len(batch) < r.opts.BatchSize {
			if r.opts.Linger <= 0 {
				select {
				case c, ok := <-r.queue:
					if !ok {
						break fill
					}
					batch = append(batch, c)
				default:
					break fill
				}
				continue
			}
			select {
			case c, ok := <-r.queue:
				if !ok {
					break fill
				}
				batch = append(batch, c)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		r.write(batch)
		var n int64
		for i := range batch {
			n += batch[i].held
		}
		r.queuedBytes.Add(-n)
		clear(batch) // let the events be collected
	}
}

func (r *Recorder) write(batch []Change) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.WriteTimeout)
		err := r.store.Record(ctx, batch)
		cancel()
		if err == nil {
			r.recorded.Add(int64(len(batch)))
			r.writes.Add(1)
			return
		}
		if attempt >= r.opts.Attempts {
			r.failed.Add(int64(len(batch)))
			r.opts.Logger.Error("timeline changes dropped after failed writes; queries will miss them",
				"changes", len(batch), "attempts", attempt, "err", err)
			return
		}
		r.opts.Logger.Warn("timeline write failed; retrying", "changes", len(batch), "in", backoff, "err", err)
		time.Sleep(backoff)
		backoff *= 2
	}
}

// Replayed records dead letters sent to delivery again (the entries
// eventstore.Store.Revive returned). Call it before the entries are
// enqueued for delivery, so their new deliveries are recorded after it.
func (r *Recorder) Replayed(entries []eventstore.Entry) {
	for _, e := range entries {
		r.enqueue(Change{Type: ChangeReplayed, At: r.now(), Event: e.Event})
	}
}
