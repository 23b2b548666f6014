package dispatcher

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// observeRateLimits exports each tenant's shared Regal rate limit as this
// dispatcher last saw it (ccb_dispatcher_regal_rate_limit{tenant}): the
// configured ceiling (ccb_dispatcher_regal_rate_limit_ceiling{tenant})
// until Regal answers 429, less after.
func (d *Dispatcher) observeRateLimits() error {
	if len(d.limiters) == 0 {
		return nil
	}
	m := d.tel.Meter(instrumentation)
	current, err := m.Float64ObservableGauge("ccb.dispatcher.regal_rate_limit", metric.WithUnit("{request}"),
		metric.WithDescription("Requests per second the Regal account's shared rate limit allows now, as this dispatcher last saw it: dispatcher.regal.rate_limit, lowered after Regal's 429s and recovering."))
	if err != nil {
		return err
	}
	ceiling, err := m.Float64ObservableGauge("ccb.dispatcher.regal_rate_limit_ceiling", metric.WithUnit("{request}"),
		metric.WithDescription("Requests per second the Regal account's shared rate limit allows at most: dispatcher.regal.rate_limit."))
	if err != nil {
		return err
	}
	opts := make(map[string][]metric.ObserveOption, len(d.limiters))
	for tenant := range d.limiters {
		opts[tenant] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("tenant", tenant)))}
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for tenant, l := range d.limiters {
			o.ObserveFloat64(current, l.Rate(), opts[tenant]...)
			o.ObserveFloat64(ceiling, d.cfg.Regal.RateLimit, opts[tenant]...)
		}
		return nil
	}, current, ceiling)
	return err
}
