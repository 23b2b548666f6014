package collector

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// instrumentation is where the collector's spans and metrics are made.
const instrumentation = "github.com/ccbridge/bridge/collector"

// instruments are the collector's metrics. Labels stay low-cardinality:
// tenants, event types from 8x8's catalogue (others count as "other"),
// outcomes and reasons; never interaction ids or phones.
type instruments struct {
	tracer      trace.Tracer
	received    metric.Int64Counter
	duplicates  metric.Int64Counter
	malformed   metric.Int64Counter
	admitted    metric.Int64Counter
	admitErrors metric.Int64Counter
	settled     metric.Int64Counter
	deadLetters metric.Int64Counter
	// deadTrimmed counts dead letters dropped for good at their bounds.
	deadTrimmed metric.Int64Counter
	// eventWait is how long a new event has been in the collector when
	// it is stored (stage admitted) and when it is first handed to a
	// dispatcher (stage sent): read off SAPI to those points, so the two
	// and the dispatcher's ccb.dispatcher.event_age split an event's delay.
	eventWait metric.Float64Histogram
}

// Attribute options of the event wait histogram, made once.
var (
	stageAdmitted = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("stage", "admitted")))}
	stageSent     = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("stage", "sent")))}
)

// observeWait records how long ev has been in the collector at a stage.
func (in *instruments) observeWait(ev *eventv1.Event, now time.Time, stage []metric.RecordOption) {
	if received := ev.GetReceivedAt(); received != nil {
		in.eventWait.Record(context.Background(), max(now.Sub(received.AsTime()), 0).Seconds(), stage...)
	}
}

func newInstruments(tel *telemetry.Telemetry) (*instruments, error) {
	m := tel.Meter(instrumentation)
	in := &instruments{tracer: tel.Tracer(instrumentation)}
	var err error
	counter := func(dst *metric.Int64Counter, name, desc string) {
		if err == nil {
			*dst, err = m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{event}"))
		}
	}
	counter(&in.received, "ccb.collector.events.received", "SAPI events decoded, by tenant and event type (heartbeats excluded).")
	counter(&in.duplicates, "ccb.collector.events.duplicates", "Events dropped by deduplication.")
	counter(&in.malformed, "ccb.collector.frames.malformed", "SAPI frames that could not be decoded, kept for inspection and skipped, by reason.")
	counter(&in.admitted, "ccb.collector.events.admitted", "New events stored in Redis for delivery.")
	counter(&in.admitErrors, "ccb.collector.admit.errors", "Failed admissions to Redis (retried).")
	counter(&in.settled, "ccb.collector.deliveries.settled", "Deliveries settled, by outcome (delivered, skipped, dead_lettered).")
	counter(&in.deadLetters, "ccb.collector.dead_letters", "Events dead-lettered.")
	counter(&in.deadTrimmed, "ccb.collector.dead_letters.trimmed", "Dead letters dropped for good at collector.store.dead_letter_max_age (bound=age) or dead_letter_max_len (bound=length); a dropped letter that held its interaction releases it.")
	if err == nil {
		in.eventWait, err = m.Float64Histogram("ccb.collector.event_wait", metric.WithUnit("s"),
			metric.WithDescription("Time from reading a new event off SAPI to storing it (stage admitted) and to handing it to a dispatcher the first time (stage sent)."),
			metric.WithExplicitBucketBoundaries(telemetry.LatencyBuckets...))
	}
	return in, err
}

// observeGauges registers the gauges read at scrape time.
func (c *Collector) observeGauges(tel *telemetry.Telemetry) error {
	m := tel.Meter(instrumentation)
	backlog, err1 := m.Int64ObservableGauge("ccb.collector.backlog", metric.WithDescription("Events held for delivery (queued, in flight or settling)."), metric.WithUnit("{event}"))
	inflight, err2 := m.Int64ObservableGauge("ccb.collector.in_flight", metric.WithDescription("Unacknowledged deliveries per dispatcher."), metric.WithUnit("{event}"))
	sessions, err3 := m.Int64ObservableGauge("ccb.collector.dispatchers", metric.WithDescription("Connected dispatcher sessions."))
	state, err4 := m.Int64ObservableGauge("ccb.collector.sapi.connected", metric.WithDescription("1 while the tenant's SAPI stream is streaming, else 0."))
	unauthorized, err5 := m.Int64ObservableGauge("ccb.collector.sapi.unauthorized", metric.WithDescription("1 while 8x8 refuses the tenant's token (401/403): the token was probably rotated."))
	reconnects, err6 := m.Int64ObservableCounter("ccb.collector.sapi.reconnects", metric.WithDescription("SAPI reconnections."))
	age, err7 := m.Float64ObservableGauge("ccb.collector.sapi.last_event_age", metric.WithDescription("Seconds since the tenant's SAPI stream delivered a frame."), metric.WithUnit("s"))
	stalls, err8 := m.Int64ObservableCounter("ccb.collector.sapi.stalls", metric.WithDescription("SAPI streams dropped by the stall watchdog (no data, not even heartbeats, for the stall timeout)."))
	gaps, err9 := m.Int64ObservableCounter("ccb.collector.sapi.possible_gaps", metric.WithDescription("Reconnections after an outage longer than 8x8's 2-hour replay cache: events may be lost."))
	outage, err10 := m.Float64ObservableGauge("ccb.collector.sapi.outage", metric.WithDescription("Seconds the tenant's SAPI stream has been down (0 while streaming); past 7200 8x8 no longer replays."), metric.WithUnit("s"))
	tlChanges, err11 := m.Int64ObservableCounter("ccb.collector.timeline.changes", metric.WithDescription("Timeline changes (what happened to an event, for the query API), by result: recorded, dropped (queue full) or failed (Redis kept failing)."), metric.WithUnit("{change}"))
	tlQueued, err12 := m.Int64ObservableGauge("ccb.collector.timeline.queued_bytes", metric.WithDescription("Event bytes held by timeline changes waiting to be written (bounded; above the bound changes are dropped)."), metric.WithUnit("By"))
	stallTimeout, err13 := m.Float64ObservableGauge("ccb.collector.sapi.stall_timeout", metric.WithDescription("Seconds of silence after which the tenant's SAPI stream is dropped and reopened: collector.missed_heartbeats learned heartbeat intervals, within [collector.idle_timeout_min, collector.idle_timeout]."), metric.WithUnit("s"))
	deadBound, err14 := m.Float64ObservableGauge("ccb.collector.dead_letters.bound_ratio",
		metric.WithDescription("How full the tenant's fullest dead-letter stream is (bound=length: entries over dead_letter_max_len) and how old its oldest dead letter is (bound=age: age over dead_letter_max_age). At 1 dead letters are dropped for good."))
	held, err15 := m.Int64ObservableGauge("ccb.collector.held_interactions",
		metric.WithDescription("Interactions whose later events wait behind a dead-lettered event (dead_letter_policy hold) until it is replayed."))
	paused, err16 := m.Int64ObservableGauge("ccb.collector.tenant_paused",
		metric.WithDescription("1 while the tenant's deliveries wait because a dispatcher said Regal refuses its account (401/403/404); the dispatcher's ccb_dispatcher_tenant_paused says why."))
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8, err9, err10, err11, err12, err13, err14, err15, err16} {
		if err != nil {
			return err
		}
	}
	if err := c.observeBytes(m); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := c.sched.Stats()
		o.ObserveInt64(backlog, int64(st.Buffered))
		rs := c.recorder.Stats()
		o.ObserveInt64(tlChanges, rs.Recorded, metric.WithAttributes(attribute.String("result", "recorded")))
		o.ObserveInt64(tlChanges, rs.Dropped, metric.WithAttributes(attribute.String("result", "dropped")))
		o.ObserveInt64(tlChanges, rs.Failed, metric.WithAttributes(attribute.String("result", "failed")))
		o.ObserveInt64(tlQueued, rs.QueuedBytes)
		o.ObserveInt64(sessions, int64(st.Sessions))
		for name, n := range st.InFlightBy {
			o.ObserveInt64(inflight, int64(n), metric.WithAttributes(attribute.String("dispatcher", name)))
		}
		for _, p := range c.pipelines {
			tenant := attribute.String("tenant", p.tenant)
			_, isPaused := st.Paused[p.tenant]
			o.ObserveInt64(paused, boolInt(isPaused), metric.WithAttributes(tenant))
			o.ObserveInt64(held, int64(st.Held[p.tenant]), metric.WithAttributes(tenant))
			if v, ok := c.deadFill.Load(p.tenant); ok {
				f := v.(eventstore.DeadLetterFill)
				o.ObserveFloat64(deadBound, f.LengthRatio, metric.WithAttributes(tenant, attribute.String("bound", "length")))
				o.ObserveFloat64(deadBound, f.AgeRatio, metric.WithAttributes(tenant, attribute.String("bound", "age")))
			}
		}
		for i, cl := range c.clients {
			ss := cl.Stats()
			tenant := metric.WithAttributes(attribute.String("tenant", c.pipelines[i].tenant))
			o.ObserveInt64(state, boolInt(ss.State == sapi.StateStreaming), tenant)
			o.ObserveInt64(unauthorized, boolInt(ss.State == sapi.StateUnauthorized), tenant)
			o.ObserveInt64(reconnects, int64(ss.Reconnects), tenant)
			if !ss.LastFrameAt.IsZero() {
				o.ObserveFloat64(age, time.Since(ss.LastFrameAt).Seconds(), tenant)
			}
			o.ObserveInt64(stalls, int64(ss.Stalls), tenant)
			o.ObserveFloat64(stallTimeout, ss.StallTimeout.Seconds(), tenant)
			o.ObserveInt64(gaps, int64(ss.PossibleGaps)+c.stats.restartGaps.Load(), tenant)
			down := 0.0
			if !ss.DisconnectedSince.IsZero() && ss.State != sapi.StateStreaming {
				down = time.Since(ss.DisconnectedSince).Seconds()
			}
			o.ObserveFloat64(outage, down, tenant)
		}
		return nil
	}, backlog, inflight, sessions, state, unauthorized, reconnects, age, stalls, gaps, outage, tlChanges, tlQueued, stallTimeout, deadBound, held, paused)
	return err
}

// observeBytes registers the gauges of the bytes the collector's queues
// hold, each bounded (collector.pending_max_bytes,
// collector.scheduler.max_buffered_bytes and max_in_flight_bytes).
func (c *Collector) observeBytes(m metric.Meter) error {
	backlog, err1 := m.Int64ObservableGauge("ccb.collector.backlog_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by the events held for delivery (queued, in flight or settling); bounded by collector.scheduler.max_buffered_bytes, at which the SAPI readers wait."))
	inflight, err2 := m.Int64ObservableGauge("ccb.collector.in_flight_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by the unacknowledged deliveries of each dispatcher; bounded by collector.scheduler.max_in_flight_bytes."))
	pending, err3 := m.Int64ObservableGauge("ccb.collector.pending_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by events read off SAPI and not yet handed to the scheduler; bounded by collector.pending_max_bytes, at which the SAPI readers wait."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := c.sched.Stats()
		o.ObserveInt64(backlog, st.BufferedBytes)
		for name, n := range st.InFlightBytesBy {
			o.ObserveInt64(inflight, n, metric.WithAttributes(attribute.String("dispatcher", name)))
		}
		o.ObserveInt64(pending, c.pending.bytes())
		return nil
	}, backlog, inflight, pending)
	return err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// outcomeLabel names a settlement outcome for metrics and spans.
func outcomeLabel(o scheduler.Outcome) string {
	switch o {
	case scheduler.Delivered:
		return "delivered"
	case scheduler.Skipped:
		return "skipped"
	case scheduler.FailedPermanent:
		return "dead_lettered"
	case scheduler.FailedRetryable:
		return "retry"
	case scheduler.Paused:
		return "paused"
	}
	return "unknown"
}

// knownEventTypes are 8x8's documented event names; any other name is
// counted as "other" so a metric label cannot grow without bound.
var knownEventTypes = map[string]bool{}

func init() {
	for _, n := range []string{
		"AgentStatusChange", "AgentProvChange", "AgentSkillCreated", "AgentSkillChanged",
		"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted",
		"InteractionCustomerAccepted", "InteractionRecordingStarted", "InteractionRecordingReady",
		"InteractionPostProcess", "InteractionEndPostProcess", "InteractionDeassigned",
		"InteractionParticipantChange", "InteractionDeleted", "LineHoldStatus", "LineMuteStatus",
		"RecordingStatus", "InteractionRejected", "InteractionUnqueued", "InteractionReconnect",
		"InteractionJoinLinesRequest", "InteractionTransferRequest", "InteractionParticipantRemovedByHost",
		"InteractionJoined", "InteractionChanged", "InteractionQueueTimeout", "GuestChatEnd",
		"MediaProxyAdded", "MediaProxyRemoved",
	} {
		knownEventTypes[n] = true
	}
}

func eventTypeLabel(t string) string {
	if knownEventTypes[t] {
		return t
	}
	return "other"
}

// malformedReason is the fixed reason of a framing or decoding error.
func malformedReason(err error) string {
	var fe *sapi.FrameError
	var de *sapi.DecodeError
	switch {
	case errors.As(err, &fe):
		return fe.Reason
	case errors.As(err, &de):
		return de.Reason
	}
	return "other"
}
