package regal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrRetryBudgetSpent is matched (errors.Is) by the error of a Send that
// used all its attempts without success. That error also wraps the last
// attempt's error and is permanent: sending again at once is pointless.
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

// Permanent reports whether repeating the same request cannot succeed:
// every status except 408, 429 and 5xx.
func (e *StatusError) Permanent() bool {
	return !retryableStatus(e.Status)
}

// retryableStatus reports whether a response with this status is worth
// another attempt. 400, 401, 403, 404, 413 and 422 are the permanent
// answers Regal can give; other 4xx and 3xx are treated alike.
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

// permanentError marks an error that no retry can fix, such as a body that
// cannot be encoded.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// budgetSpentError is returned when MaxAttempts attempts all failed.
type budgetSpentError struct {
	attempts int
	last     error
}

func (e *budgetSpentError) Error() string {
	return fmt.Sprintf("%s after %d attempts: %v", ErrRetryBudgetSpent, e.attempts, e.last)
}
func (e *budgetSpentError) Unwrap() []error { return []error{ErrRetryBudgetSpent, e.last} }

// IsPermanent reports whether err means the event cannot be delivered by
// trying again now: a permanent HTTP status (400, 401, 403, 404, 413, 422
// and any other non-retryable answer), a body that cannot be encoded, a
// missing API key, or a spent retry budget. It is false for nil, for
// retryable failures and for the caller's context being done.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrRetryBudgetSpent) {
		return true
	}
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
