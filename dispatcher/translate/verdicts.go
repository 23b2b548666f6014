package translate

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentation = "github.com/ccbridge/bridge/dispatcher/translate"

// verdictCounter counts translated events by tenant and phone verdict.
type verdictCounter struct {
	counter metric.Int64Counter
	// opts caches each (tenant, verdict)'s attribute option: building an
	// attribute set on every event would allocate. Tenants are the
	// configured few, verdicts four, so it stays small.
	opts sync.Map // verdictLabels → []metric.AddOption
}

type verdictLabels struct{ tenant, verdict string }

func newVerdictCounter(mp metric.MeterProvider) (*verdictCounter, error) {
	c, err := mp.Meter(instrumentation).Int64Counter("ccb.dispatcher.phones", metric.WithUnit("{event}"),
		metric.WithDescription("Mapped events translated, by the verdict on their customer phone: valid, unverified (sent; a possible number libphonenumber's metadata does not list), no_phone or invalid_phone (dead-lettered)."))
	if err != nil {
		return nil, err
	}
	return &verdictCounter{counter: c}, nil
}

// add counts one event of tenant with verdict.
func (v *verdictCounter) add(tenant, verdict string) {
	k := verdictLabels{tenant: tenant, verdict: verdict}
	opts, ok := v.opts.Load(k)
	if !ok {
		opts, _ = v.opts.LoadOrStore(k, []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String("tenant", tenant), attribute.String("verdict", verdict)))})
	}
	v.counter.Add(context.Background(), 1, opts.([]metric.AddOption)...)
}
