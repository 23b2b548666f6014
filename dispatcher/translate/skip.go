package translate

import (
	"errors"
	"strings"

	"github.com/ccbridge/bridge/internal/phone"
)

// Reasons an event is not sent: a small fixed set, fit for a metric label.
const (
	// ReasonUnmappedEvent (a skip): the event type is not in the mapping
	// (agent events included).
	ReasonUnmappedEvent = "unmapped_event"
	// ReasonNoPhone (a NoPhoneError): the event carries no customer phone
	// number.
	ReasonNoPhone = "no_phone"
	// ReasonInvalidPhone (a NoPhoneError): the customer phone is not even
	// a possible number in the default region (see phone.Parse).
	ReasonInvalidPhone = "invalid_phone"
)

// SkipError means the event is deliberately not sent to Regal. It is not a
// failure: the event should be acknowledged and counted by Reason.
type SkipError struct {
	// Reason is ReasonUnmappedEvent.
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

// ErrNoPhone is matched (errors.Is) by every NoPhoneError.
var ErrNoPhone = errors.New("translate: no usable customer phone")

// NoPhoneError means a mapped event names no contact Regal can take: it
// carries no customer phone (ReasonNoPhone) or one that is not even a
// possible number (ReasonInvalidPhone). Unlike a skip it is a failure: the
// event is to be dead-lettered with Error() as its reason, so that nothing
// is lost unseen and it can be replayed once the cause is fixed (for
// instance dispatcher.mapping.default_region). Sending it again as it is
// gives the same error.
type NoPhoneError struct {
	// Reason is ReasonNoPhone or ReasonInvalidPhone.
	Reason string
	// Region is the default region the number was read with.
	Region string
	// Err is why the number is not possible (matches phone.ErrInvalid);
	// nil for ReasonNoPhone.
	Err error
}

// Error implements error. It never contains the phone number.
func (e *NoPhoneError) Error() string {
	if e.Err == nil {
		return ErrNoPhone.Error() + " (" + e.Reason + "): the event carries none"
	}
	why := strings.TrimPrefix(e.Err.Error(), phone.ErrInvalid.Error()+": ")
	return ErrNoPhone.Error() + " (" + e.Reason + "): not a possible number with default region " + e.Region + ": " + why
}

// Unwrap makes errors.Is match ErrNoPhone, and phone.ErrInvalid when the
// number is not possible.
func (e *NoPhoneError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNoPhone}
	}
	return []error{ErrNoPhone, e.Err}
}

// IsNoPhone reports whether err is (or wraps) a NoPhoneError, and its
// reason.
func IsNoPhone(err error) (reason string, ok bool) {
	var np *NoPhoneError
	if errors.As(err, &np) {
		return np.Reason, true
	}
	return "", false
}
