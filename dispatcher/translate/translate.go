package translate

import (
	"errors"

	"github.com/ccbridge/bridge/dispatcher/regal"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Translator turns normalized SAPI events into Regal events according to
// a Mapping. It is safe for concurrent use; its only state is a bounded
// cache of phone normalizations.
type Translator struct {
	names            map[string]string
	eventSource      string
	region           string
	dispositionNames bool
	phones           *phoneCache
}

// New returns a Translator for m after filling in its defaults and
// validating it.
func New(m Mapping) (*Translator, error) {
	m = m.withDefaults()
	if err := m.Validate(); err != nil {
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
	}, nil
}

// Translate returns the Regal event for ev: the mapped name, the mapping's
// eventSource, originalTimestamp from occurred_at (else received_at), the
// customer phone in E.164 as the only key of traits.phones, and the
// interaction's properties. An event that must not be sent yields a
// *SkipError (see IsSkip); a nil ev is an error. Errors never contain the
// phone number.
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
		return nil, &SkipError{Reason: ReasonNoPhone}
	}
	phone, err := t.phones.normalize(raw, t.region)
	if err != nil {
		return nil, &SkipError{Reason: ReasonInvalidPhone}
	}
	return &regal.Event{
		Traits:            &regal.Traits{Phones: map[string]regal.PhoneTrait{phone: {}}},
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
