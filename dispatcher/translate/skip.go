package translate

import "errors"

// Skip reasons: a small fixed set, fit for a metric label.
const (
	// ReasonUnmappedEvent: the event type is not in the mapping (agent
	// events included).
	ReasonUnmappedEvent = "unmapped_event"
	// ReasonNoPhone: the event carries no customer phone number.
	ReasonNoPhone = "no_phone"
	// ReasonInvalidPhone: the customer phone is not a valid number in the
	// default region.
	ReasonInvalidPhone = "invalid_phone"
)

// SkipError means the event is deliberately not sent to Regal. It is not a
// failure: the event should be acknowledged and counted by Reason.
type SkipError struct {
	// Reason is one of the Reason* constants.
	Reason string
}

// Error implements error. It never contains the phone number.
func (e *SkipError) Error() string { return "translate: event not sent: " + e.Reason }

// IsSkip reports whether err is (or wraps) a SkipError, and its reason.
func IsSkip(err error) (reason string, ok bool) {
	var skip *SkipError
	if errors.As(err, &skip) {
		return skip.Reason, true
	}
	return "", false
}
