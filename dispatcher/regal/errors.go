package regal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrRetryBudgetSpent is matched (errors.Is) by the error of a Send that
// used all its attempts on transient failures. That error also wraps the
// last attempt's error; Classify makes it "retry later": the collector
// delivers the event again after a delay, within the event's budget.
var ErrRetryBudgetSpent = errors.New("regal: retry budget spent")

// maxErrorBodyBytes bounds StatusError.Body.
const maxErrorBodyBytes = 512

// StatusError is a non-2xx answer from Regal.
type StatusError struct {
	// Status is the HTTP status code.
	Status int
	// Body is the start of the response body (at most 512 bytes, valid
	// UTF-8), with any occurrence of the API key replaced by "[redacted]".
	Body string
}

// Error implements error; it never contains the API key.
func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("regal: HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("regal: HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// retryableStatus reports whether a response with this status is worth
// another attempt at once: 408, 429 and 5xx. What other statuses mean is
// decided by Classify.
func retryableStatus(status int) bool {
	return status == http.StatusRequestTimeout ||
		status == http.StatusTooManyRequests ||
		status >= 500
}

// newStatusError builds a StatusError from a response body, truncated and
// scrubbed of the API key.
func newStatusError(status int, body []byte, apiKey string) *StatusError {
	text := string(body)
	if apiKey != "" {
		text = strings.ReplaceAll(text, apiKey, "[redacted]")
	}
	if len(text) > maxErrorBodyBytes {
		text = text[:maxErrorBodyBytes]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	return &StatusError{Status: status, Body: strings.TrimSpace(text)}
}

// permanentError marks an error about the event that no retry can fix,
// such as a body that cannot be encoded.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// configError marks a fault of the configuration (a key that cannot be
// sent, a URL no request can be built for), not of the event. reason is
// the Pause* class.
type configError struct {
	err    error
	reason string
}

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// budgetSpentError is returned when MaxAttempts attempts all failed.
type budgetSpentError struct {
	attempts int
	last     error
}

func (e *budgetSpentError) Error() string {
	return fmt.Sprintf("%s after %d attempts: %v", ErrRetryBudgetSpent, e.attempts, e.last)
}
func (e *budgetSpentError) Unwrap() []error { return []error{ErrRetryBudgetSpent, e.last} }
