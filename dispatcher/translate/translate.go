package translate

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/ccbridge/bridge/dispatcher/regal"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Translator turns normalized SAPI events into Regal events according to
// a Mapping. It is safe for concurrent use; its only state is a bounded
// cache of phone normalizations and its counter of phone verdicts.
type Translator struct {
	names            map[string]string
	eventSource      string
	region           string
	dispositionNames bool
	phones           *phoneCache
	verdicts         *verdictCounter
}

// Option tunes a Translator built by New.
type Option func(*options)

type options struct {
	meterProvider metric.MeterProvider
}

// WithMeterProvider receives the Translator's counter
// ccb.dispatcher.phones{tenant, verdict} (exported to Prometheus as
// ccb_dispatcher_phones_total): one count per translated mapped event, by
// the verdict on its customer phone: "valid", "unverified" (sent, but not
// in libphonenumber's metadata: see phone.Unverified), ReasonNoPhone or
// ReasonInvalidPhone (not sent, dead-lettered). A redelivered event is
// counted again. Without it nothing is counted.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// New returns a Translator for m after filling in its defaults and
// validating it.
func New(m Mapping, opts ...Option) (*Translator, error) {
	m = m.withDefaults()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.meterProvider == nil {
		o.meterProvider = noop.NewMeterProvider()
	}
	verdicts, err := newVerdictCounter(o.meterProvider)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(m.Events))
	for _, e := range m.Events {
		names[e.Source] = e.Name
	}
	return &Translator{
		names:            names,
		eventSource:      m.EventSource,
		region:           m.DefaultRegion,
		dispositionNames: *m.DispositionNames,
		phones:           newPhoneCache(phoneCacheCapacity),
		verdicts:         verdicts,
	}, nil
}

// Translate returns the Regal event for ev: the mapped name, the mapping's
// eventSource, originalTimestamp from occurred_at (else received_at), the
// customer phone in E.164 as the only key of traits.phones, and the
// interaction's properties.
//
// An event whose type is not mapped yields a *SkipError (see IsSkip). A
// mapped event without a usable phone (none, or not even a possible
// number) yields a *NoPhoneError (see IsNoPhone): a failure to dead-letter,
// not a skip. A number that is possible but unknown to libphonenumber's
// metadata is sent (see phone.Unverified). A nil ev is an error. Errors
// never contain the phone number.
func (t *Translator) Translate(ev *eventv1.Event) (*regal.Event, error) {
	if ev == nil {
		return nil, errors.New("translate: event is nil")
	}
	name, mapped := t.names[ev.GetEventType()]
	if !mapped {
		return nil, &SkipError{Reason: ReasonUnmappedEvent}
	}
	raw := ev.GetInteraction().GetCustomerPhone()
	if raw == "" {
		t.verdicts.add(ev.GetTenant(), ReasonNoPhone)
		return nil, &NoPhoneError{Reason: ReasonNoPhone, Region: t.region}
	}
	number, err := t.phones.parse(raw, t.region)
	if err != nil {
		t.verdicts.add(ev.GetTenant(), ReasonInvalidPhone)
		return nil, &NoPhoneError{Reason: ReasonInvalidPhone, Region: t.region, Err: err}
	}
	t.verdicts.add(ev.GetTenant(), string(number.Verdict))
	return &regal.Event{
		Traits:            &regal.Traits{Phones: map[string]regal.PhoneTrait{number.E164: {}}},
		Name:              name,
		Properties:        properties(ev, t.dispositionNames),
		EventSource:       t.eventSource,
		OriginalTimestamp: originalTimestamp(ev),
	}, nil
}

// originalTimestamp formats occurred_at, else received_at; it is empty
// when neither is set.
func originalTimestamp(ev *eventv1.Event) string {
	switch {
	case ev.GetOccurredAt().IsValid():
		return regal.FormatTimestamp(ev.GetOccurredAt().AsTime())
	case ev.GetReceivedAt().IsValid():
		return regal.FormatTimestamp(ev.GetReceivedAt().AsTime())
	}
	return ""
}
