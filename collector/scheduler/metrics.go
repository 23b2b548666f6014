package scheduler

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the scheduler's instruments: its settlements, and gauges
// of what it holds, read at scrape time. Labels stay low-cardinality
// (outcomes, tenants, dispatcher ids).
type metrics struct {
	settled metric.Int64Counter
}

func newMetrics(m metric.Meter, s *Scheduler, tenants []string) (*metrics, error) {
	settled, err := m.Int64Counter("ccb.collector.deliveries.settled",
		metric.WithDescription("Deliveries settled, by outcome (delivered, skipped, dead_lettered)."), metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	if err := observeState(m, s, tenants); err != nil {
		return nil, err
	}
	return &metrics{settled: settled}, nil
}

// settledOne counts a durable settlement; a nil m counts nothing.
func (m *metrics) settledOne(o Outcome) {
	if m == nil {
		return
	}
	m.settled.Add(context.Background(), 1, metric.WithAttributes(attribute.String("outcome", outcomeLabel(o))))
}

// observeState registers the gauges of what the scheduler holds: events
// and their bytes (bounded by max_buffered_bytes), deliveries in flight
// per dispatcher and their bytes (bounded by max_in_flight_bytes), the
// sessions, and the paused tenants.
func observeState(m metric.Meter, s *Scheduler, tenants []string) error {
	backlog, err1 := m.Int64ObservableGauge("ccb.collector.backlog", metric.WithDescription("Events held for delivery (queued, in flight or settling)."), metric.WithUnit("{event}"))
	inflight, err2 := m.Int64ObservableGauge("ccb.collector.in_flight", metric.WithDescription("Unacknowledged deliveries per dispatcher."), metric.WithUnit("{event}"))
	sessions, err3 := m.Int64ObservableGauge("ccb.collector.dispatchers", metric.WithDescription("Connected dispatcher sessions."))
	paused, err4 := m.Int64ObservableGauge("ccb.collector.tenant_paused",
		metric.WithDescription("1 while the tenant's deliveries wait because a dispatcher said Regal refuses its account (401/403/404); the dispatcher's ccb_dispatcher_tenant_paused says why."))
	backlogBytes, err5 := m.Int64ObservableGauge("ccb.collector.backlog_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by the events held for delivery (queued, in flight or settling); bounded by collector.scheduler.max_buffered_bytes, at which the SAPI readers wait."))
	inflightBytes, err6 := m.Int64ObservableGauge("ccb.collector.in_flight_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by the unacknowledged deliveries of each dispatcher; bounded by collector.scheduler.max_in_flight_bytes."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.Stats()
		o.ObserveInt64(backlog, int64(st.Buffered))
		o.ObserveInt64(backlogBytes, st.BufferedBytes)
		o.ObserveInt64(sessions, int64(st.Sessions))
		for name, n := range st.InFlightBy {
			o.ObserveInt64(inflight, int64(n), metric.WithAttributes(attribute.String("dispatcher", name)))
		}
		for name, n := range st.InFlightBytesBy {
			o.ObserveInt64(inflightBytes, n, metric.WithAttributes(attribute.String("dispatcher", name)))
		}
		for _, t := range tenants {
			_, isPaused := st.Paused[t]
			v := int64(0)
			if isPaused {
				v = 1
			}
			o.ObserveInt64(paused, v, metric.WithAttributes(attribute.String("tenant", t)))
		}
		return nil
	}, backlog, inflight, sessions, paused, backlogBytes, inflightBytes)
	return err
}

// outcomeLabel names a settlement outcome for metrics.
func outcomeLabel(o Outcome) string {
	switch o {
	case Delivered:
		return "delivered"
	case Skipped:
		return "skipped"
	case FailedPermanent:
		return "dead_lettered"
	case FailedRetryable:
		return "retry"
	case Paused:
		return "paused"
	}
	return "unknown"
}
