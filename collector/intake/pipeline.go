package intake

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// pipeline carries one tenant's frames from its SAPI client to the
// scheduler: decode, batch, admit (dedup + durable hand-off), enqueue.
type pipeline struct {
	tenant string
	subsID string
	batch  int
	store  *eventstore.Store
	sched  *scheduler.Scheduler
	rec    *timeline.Recorder
	stats  *counters
	inst   *instruments
	traces *traceCache
	logger *slog.Logger
	in     chan pendingEvent
	// budget bounds the bytes of the events read and not yet enqueued.
	budget *byteBudget
	// ops run in the admitter goroutine between batches, for work that must
	// enqueue in stream order with admission (replays).
	ops  chan func()
	done chan struct{}
	// recovered is closed once the events an earlier run left unsettled
	// are scheduled: replays and releases wait for it, so that what they
	// schedule cannot overtake recovered events.
	recovered chan struct{}
}

// pendingEvent is a decoded event on its way to admission, with the bytes
// it took from the pipeline's budget.
type pendingEvent struct {
	ev    *eventv1.Event
	bytes int64
	// flushed, when set, marks no event: the admitter closes it once
	// everything before it is admitted and enqueued (see flush).
	flushed chan struct{}
}

func newPipeline(tenant, subsID string, batch int, store *eventstore.Store, sched *scheduler.Scheduler, rec *timeline.Recorder, stats *counters, inst *instruments, logger *slog.Logger, budget *byteBudget) *pipeline {
	return &pipeline{tenant: tenant, subsID: subsID, batch: batch, store: store, sched: sched, rec: rec, stats: stats,
		inst: inst, traces: newTraceCache(traceCacheSize), budget: budget,
		logger: logger, in: make(chan pendingEvent, batch), ops: make(chan func()), done: make(chan struct{}),
		recovered: make(chan struct{})}
}

// handleFrame is the SAPI client's handler. It blocks while the admitter
// is behind or the events read and not yet enqueued hold the budget's
// bytes, which slows the SAPI reader down instead of buffering.
func (p *pipeline) handleFrame(ctx context.Context, f sapi.Frame) error {
	if f.Err != nil {
		size := len(f.Bytes)
		var fe *sapi.FrameError
		if errors.As(f.Err, &fe) {
			size = fe.Size // f.Bytes is only the frame's start
		}
		p.keepMalformed(ctx, f.Bytes, size, f.Err)
		return nil
	}
	ev, err := sapi.Decode(f.Bytes, p.tenant, p.subsID, f.ReceivedAt)
	switch {
	case errors.Is(err, sapi.ErrHeartbeat):
		p.stats.heartbeats.Add(1)
		return nil
	case err != nil:
		p.keepMalformed(ctx, f.Bytes, len(f.Bytes), err)
		return nil
	}
	p.stats.received.Add(1)
	p.inst.received.Add(ctx, 1, metric.WithAttributes(attribute.String("tenant", p.tenant),
		attribute.String("event_type", eventTypeLabel(ev.GetEventType()))))
	n := eventstore.AdmissionBytes(ev)
	if err := p.budget.acquire(ctx, n); err != nil {
		return err
	}
	select {
	case p.in <- pendingEvent{ev: ev, bytes: n}:
		return nil
	case <-ctx.Done():
		p.budget.release(n)
		return ctx.Err()
	}
}

// keepMalformed counts a frame that is not an event, keeps its start (the
// store bounds what it keeps) and skips it; size is the frame's full size.
func (p *pipeline) keepMalformed(ctx context.Context, frame []byte, size int, cause error) {
	reason := cause.Error()
	p.stats.malformed.Add(1)
	p.inst.malformed.Add(ctx, 1, metric.WithAttributes(attribute.String("tenant", p.tenant),
		attribute.String("reason", malformedReason(cause))))
	// The reason comes from our decoder and holds no payload; the frame is
	// kept in Redis, never logged (it may hold phone numbers).
	p.logger.Warn("malformed SAPI frame skipped", "reason", reason, "bytes", size)
	m := eventstore.Malformed{Frame: frame, Size: size, Reason: reason, At: time.Now()}
	if err := p.store.KeepMalformed(ctx, p.tenant, m); err != nil {
		p.logger.Error("could not keep malformed frame", "err", err)
	}
}

// run admits batches until in is closed and drained, and runs ops between
// batches. Admission is two stages in two goroutines, so that one batch's
// spans (which may ask Redis for interactions' traces) are made while the
// previous batch is in Redis: prepare batches events and starts their
// spans; run stores them and enqueues them, in the same order.
func (p *pipeline) run() {
	defer close(p.done)
	// Unbuffered: at most one batch waits prepared, so a crash loses no
	// more unadmitted events than need be (see docs/architecture.md, at-least-once).
	prepared := make(chan preparedBatch)
	go p.prepare(prepared)
	for {
		select {
		case op := <-p.ops:
			op()
		case b, ok := <-prepared:
			if !ok {
				return
			}
			if b.flushed != nil {
				close(b.flushed)
				continue
			}
			p.admit(b)
		}
	}
}

// preparedBatch is a batch of events with their receive spans started.
type preparedBatch struct {
	events []*eventv1.Event
	spans  []trace.Span
	bytes  int64 // taken from the budget, released once enqueued
	// flushed, when set, marks no batch: closed once the batches before
	// it are admitted.
	flushed chan struct{}
}

// prepare batches the events of in (as many as are waiting, up to the
// batch size) and starts their spans, until in is closed and drained; it
// then closes out.
func (p *pipeline) prepare(out chan<- preparedBatch) {
	defer close(out)
	for pe := range p.in {
		if pe.flushed != nil {
			out <- preparedBatch{flushed: pe.flushed}
			continue
		}
		batch := make([]*eventv1.Event, 1, p.batch)
		batch[0] = pe.ev
		n := pe.bytes
		var flushed chan struct{} // a flush mark met while filling: it follows the batch
	fill:
		for len(batch) < p.batch {
			select {
			case pe, ok := <-p.in:
				if !ok {
					break fill
				}
				if pe.flushed != nil {
					flushed = pe.flushed
					break fill
				}
				batch = append(batch, pe.ev)
				n += pe.bytes
			default:
				break fill
			}
		}
		out <- preparedBatch{events: batch, spans: p.startSpans(batch), bytes: n}
		if flushed != nil {
			out <- preparedBatch{flushed: flushed}
		}
	}
}

// flush waits until every event sent to in before it is admitted and
// enqueued (or dropped), or ctx ends. For a reader that has stopped: what
// it read is then in the scheduler, or in Redis.
func (p *pipeline) flush(ctx context.Context) error {
	flushed := make(chan struct{})
	select {
	case p.in <- pendingEvent{flushed: flushed}:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-flushed:
		return nil
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// admit stores a batch, retrying until Redis takes it: these events have
// left the SAPI stream and exist nowhere else.
func (p *pipeline) admit(b preparedBatch) {
	batch, spans := b.events, b.spans
	// Once enqueued (or dropped as duplicates), the scheduler's bound
	// counts what is kept.
	defer p.budget.release(b.bytes)
	backoff := 50 * time.Millisecond
	var adm []eventstore.Admission
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		adm, err = p.store.Admit(ctx, batch)
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, eventstore.ErrFenced) {
			// Another collector serves the tenant now (this reader is
			// being stopped): retrying cannot succeed, the batch is
			// dropped here.
			p.logger.Warn("events not admitted: this collector no longer holds the tenant's lease", "events", len(batch), "err", err)
			for _, sp := range spans {
				sp.End()
			}
			return
		}
		p.stats.admitErrors.Add(1)
		p.inst.admitErrors.Add(context.Background(), 1)
		p.logger.Error("admit to Redis failed; retrying", "events", len(batch), "in", backoff, "err", err)
		time.Sleep(backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
	// Before Enqueue, so an event's admission is recorded before its delivery.
	if p.rec != nil {
		p.rec.Admitted(adm)
	}
	entries := make([]eventstore.Entry, 0, len(adm))
	tenant := metric.WithAttributes(attribute.String("tenant", p.tenant))
	now := time.Now()
	for i, a := range adm {
		spans[i].SetAttributes(telemetry.DedupVerdictKey.String(verdictLabel(a.Verdict)))
		spans[i].End()
		switch a.Verdict {
		case eventstore.VerdictNew:
			p.stats.admitted.Add(1)
			p.inst.admitted.Add(context.Background(), 1, tenant)
			p.inst.observeWait(batch[i], now, stageAdmitted)
			entries = append(entries, a.Entry)
		case eventstore.VerdictDuplicatePending:
			// Either a replay of an event still being delivered, or an event
			// whose earlier admission outcome was lost (Redis error). The
			// scheduler ignores the former: its entry id is not above the
			// partition's high-water mark.
			p.stats.duplicates.Add(1)
			p.inst.duplicates.Add(context.Background(), 1, tenant)
			entries = append(entries, a.Entry)
		default:
			p.stats.duplicates.Add(1)
			p.inst.duplicates.Add(context.Background(), 1, tenant)
		}
	}
	if len(entries) == 0 {
		return
	}
	if err := p.sched.Enqueue(context.Background(), entries); err != nil {
		// Only when shutting down: the entries are in Redis and are
		// delivered after the next start.
		p.logger.Info("events left for the next start", "events", len(entries), "err", err)
	}
}

// do runs op in the admitter goroutine and waits for it.
func (p *pipeline) do(ctx context.Context, op func()) error {
	ran := make(chan struct{})
	select {
	case p.ops <- func() { op(); close(ran) }:
	case <-p.done:
		return errors.New("collector is stopping")
	case <-ctx.Done():
		return ctx.Err()
	}
	<-ran
	return nil
}

// startSpans starts one span per event and puts its context in the event.
// Every event of an interaction joins the interaction's trace: the first
// event's span is the trace's root, and its context is kept (in memory and,
// through admission, in Redis, surviving restarts) as the parent of the
// interaction's later events. Redis is asked only for interactions this
// process has not seen yet, in one round trip per batch.
func (p *pipeline) startSpans(batch []*eventv1.Event) []trace.Span {
	var unknown []string
	for _, ev := range batch {
		if id := ev.GetInteractionId(); id != "" {
			if !p.traces.has(id) {
				unknown = append(unknown, id)
			}
		}
	}
	if len(unknown) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		stored, err := p.store.InteractionTraces(ctx, p.tenant, unknown)
		cancel()
		if err != nil {
			// Tracing must not stop delivery: these events start new traces.
			p.logger.Warn("could not read interaction traces; some events start new traces", "err", err)
		}
		for id, tp := range stored {
			p.traces.put(id, tp)
		}
	}
	spans := make([]trace.Span, len(batch))
	for i, ev := range batch {
		parent := context.Background()
		id := ev.GetInteractionId()
		tp, known := p.traces.get(id)
		if known {
			parent = telemetry.Extract(parent, map[string]string{"traceparent": tp})
		}
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				telemetry.InteractionIDKey.String(id),
				telemetry.EventTypeKey.String(ev.GetEventType()),
				telemetry.TenantKey.String(p.tenant),
				telemetry.DedupKeyKey.String(ev.GetDedupKey()),
			),
		}
		if !known {
			opts = append(opts, trace.WithNewRoot())
		}
		if at := ev.GetReceivedAt(); at.IsValid() {
			opts = append(opts, trace.WithTimestamp(at.AsTime()))
		}
		if orig := ev.GetInteraction().GetOriginalInteractionId(); orig != "" {
			if otp, ok := p.traces.get(orig); ok {
				link := trace.SpanContextFromContext(telemetry.Extract(context.Background(), map[string]string{"traceparent": otp}))
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: link,
					Attributes: []attribute.KeyValue{attribute.String("cc.link", "original_interaction")}}))
			}
		}
		ctx, span := p.inst.tracer.Start(parent, "sapi.receive "+ev.GetEventType(), opts...)
		spans[i] = span
		ev.TraceContext = map[string]string{}
		telemetry.Inject(ctx, ev.TraceContext)
		if id != "" && !known {
			p.traces.put(id, ev.TraceContext["traceparent"])
		}
	}
	return spans
}

func verdictLabel(v eventstore.Verdict) string {
	if v == eventstore.VerdictNew {
		return "new"
	}
	return "duplicate"
}
