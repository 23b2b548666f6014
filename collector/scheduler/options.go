package scheduler

import (
	"go.opentelemetry.io/otel/metric"

	"github.com/ccbridge/bridge/collector/eventstore"
)

// Option configures a Scheduler at New.
type Option func(*options)

type options struct {
	onRetry func(e eventstore.Entry, r Result, dispatcher string)
	meter   metric.Meter
	tenants []string
}

// WithOnRetry tells f of each acknowledgement that did not settle its
// entry (it will be delivered again, or waits out its tenant's pause); f
// must not block.
func WithOnRetry(f func(e eventstore.Entry, r Result, dispatcher string)) Option {
	return func(o *options) { o.onRetry = f }
}

// WithMetrics reports on meter the settlements by outcome and what the
// scheduler holds (see metrics.go). The gauges of a tenant
// (ccb.collector.tenant_paused) report every one of tenants, 0 included.
func WithMetrics(meter metric.Meter, tenants []string) Option {
	return func(o *options) { o.meter, o.tenants = meter, tenants }
}
