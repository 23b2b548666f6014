package intake

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ccbridge/bridge/collector/sapi"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// instruments are intake's metrics and its tracer. Labels stay
// low-cardinality: tenants, event types from 8x8's catalogue (others count
// as "other") and reasons; never interaction ids or phones.
type instruments struct {
	tracer      trace.Tracer
	received    metric.Int64Counter
	duplicates  metric.Int64Counter
	malformed   metric.Int64Counter
	admitted    metric.Int64Counter
	admitErrors metric.Int64Counter
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

func newInstruments(m metric.Meter, tracer trace.Tracer) (*instruments, error) {
	in := &instruments{tracer: tracer}
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
	if err == nil {
		in.eventWait, err = m.Float64Histogram("ccb.collector.event_wait", metric.WithUnit("s"),
			metric.WithDescription("Time from reading a new event off SAPI to storing it (stage admitted) and to handing it to a dispatcher the first time (stage sent)."),
			metric.WithExplicitBucketBoundaries(telemetry.LatencyBuckets...))
	}
	return in, err
}

// observe registers the gauges read at scrape time: each tenant's SAPI
// stream, and the bytes read and not yet scheduled.
func (in *Intake) observe(m metric.Meter) error {
	state, err1 := m.Int64ObservableGauge("ccb.collector.sapi.connected", metric.WithDescription("1 while the tenant's SAPI stream is streaming, else 0."))
	unauthorized, err2 := m.Int64ObservableGauge("ccb.collector.sapi.unauthorized", metric.WithDescription("1 while 8x8 refuses the tenant's token (401/403): the token was probably rotated."))
	reconnects, err3 := m.Int64ObservableCounter("ccb.collector.sapi.reconnects", metric.WithDescription("SAPI reconnections."))
	age, err4 := m.Float64ObservableGauge("ccb.collector.sapi.last_event_age", metric.WithDescription("Seconds since the tenant's SAPI stream delivered a frame."), metric.WithUnit("s"))
	stalls, err5 := m.Int64ObservableCounter("ccb.collector.sapi.stalls", metric.WithDescription("SAPI streams dropped by the stall watchdog (no data, not even heartbeats, for the stall timeout)."))
	gaps, err6 := m.Int64ObservableCounter("ccb.collector.sapi.possible_gaps", metric.WithDescription("Reconnections after an outage longer than 8x8's 2-hour replay cache: events may be lost."))
	outage, err7 := m.Float64ObservableGauge("ccb.collector.sapi.outage", metric.WithDescription("Seconds the tenant's SAPI stream has been down (0 while streaming); past 7200 8x8 no longer replays."), metric.WithUnit("s"))
	stallTimeout, err8 := m.Float64ObservableGauge("ccb.collector.sapi.stall_timeout", metric.WithDescription("Seconds of silence after which the tenant's SAPI stream is dropped and reopened: collector.missed_heartbeats learned heartbeat intervals, within [collector.idle_timeout_min, collector.idle_timeout]."), metric.WithUnit("s"))
	pending, err9 := m.Int64ObservableGauge("ccb.collector.pending_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by events read off SAPI and not yet handed to the scheduler; bounded by collector.pending_max_bytes, at which the SAPI readers wait."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7, err8, err9); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i, cl := range in.currentClients() {
			ss := cl.Stats()
			tenant := metric.WithAttributes(attribute.String("tenant", in.pipelines[i].tenant))
			o.ObserveInt64(state, boolInt(ss.State == sapi.StateStreaming), tenant)
			o.ObserveInt64(unauthorized, boolInt(ss.State == sapi.StateUnauthorized), tenant)
			o.ObserveInt64(reconnects, int64(ss.Reconnects), tenant)
			if !ss.LastFrameAt.IsZero() {
				o.ObserveFloat64(age, time.Since(ss.LastFrameAt).Seconds(), tenant)
			}
			o.ObserveInt64(stalls, int64(ss.Stalls), tenant)
			o.ObserveFloat64(stallTimeout, ss.StallTimeout.Seconds(), tenant)
			o.ObserveInt64(gaps, int64(ss.PossibleGaps)+in.stats.restartGaps.Load(), tenant)
			down := 0.0
			if !ss.DisconnectedSince.IsZero() && ss.State != sapi.StateStreaming {
				down = time.Since(ss.DisconnectedSince).Seconds()
			}
			o.ObserveFloat64(outage, down, tenant)
		}
		o.ObserveInt64(pending, in.pending.bytes())
		return nil
	}, state, unauthorized, reconnects, age, stalls, gaps, outage, stallTimeout, pending)
	return err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
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
