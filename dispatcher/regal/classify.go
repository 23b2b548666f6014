package regal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Outcome is what a Send's result means for the event and for its tenant.
// Classify is the one place that decides it; the client's own retries
// within a Send follow the same classes.
type Outcome int

const (
	// OutcomeDelivered: Regal accepted the event.
	OutcomeDelivered Outcome = iota + 1
	// OutcomeRetryLater: not delivered for a reason that may pass (Regal
	// failing, rate limited, unreachable, or an answer that does not say
	// what is wrong). The event is delivered again later; each such
	// delivery spends the event's retry budget.
	OutcomeRetryLater
	// OutcomePauseTenant: Regal refuses the tenant's account, not the
	// event (a wrong or revoked key, a wrong URL). Every event of the
	// tenant would fail alike, so none is dead-lettered: the tenant's
	// deliveries wait, in order, until a probe succeeds.
	OutcomePauseTenant
	// OutcomeDeadLetter: this event cannot be delivered as it is (Regal
	// says what is wrong with it, it is too large, or it cannot be
	// encoded).
	OutcomeDeadLetter
)

func (o Outcome) String() string {
	switch o {
	case OutcomeDelivered:
		return "delivered"
	case OutcomeRetryLater:
		return "retry_later"
	case OutcomePauseTenant:
		return "pause_tenant"
	case OutcomeDeadLetter:
		return "dead_letter"
	}
	return "unknown"
}

// Classes of a Send's result: Verdict.Class, low-cardinality, fit for
// metric labels and logs. The Pause* classes are the reasons a tenant is
// paused.
const (
	ClassDelivered = "delivered"
	// ClassTransient: a network error, an attempt timeout, 408, 429 or 5xx.
	ClassTransient = "transient"
	// ClassBudgetSpent: every attempt of the Send failed transiently.
	ClassBudgetSpent = "budget_spent"
	// ClassStopped: the caller's context ended the Send.
	ClassStopped = "stopped"
	// ClassUnexplained: a 400 whose body does not say what is wrong, or a
	// 4xx Regal does not document. Whether it is about the event cannot
	// be told, so it is retried within the event's budget rather than
	// dead-lettered at once.
	ClassUnexplained = "unexplained"
	// ClassBadRequest: a 400 whose body says what is wrong with the event.
	ClassBadRequest = "bad_request"
	// ClassTooLarge: 413, the event's body is larger than Regal takes.
	ClassTooLarge = "too_large"
	// ClassUnprocessable: 422, Regal understood the body and refuses it.
	ClassUnprocessable = "unprocessable"
	// ClassUnencodable: the event cannot be put into a request body.
	ClassUnencodable = "unencodable"

	// PauseUnauthorized: 401, Regal's "API key missing or invalid".
	PauseUnauthorized = "unauthorized"
	// PauseForbidden: 403, the key is known but refused.
	PauseForbidden = "forbidden"
	// PauseEndpoint: 404, 405 or a redirect: base_url does not point at
	// Regal's events API, which has one path and one method.
	PauseEndpoint = "endpoint"
	// PauseKeyUnusable: the configured key cannot be sent (empty, or
	// holding whitespace or control characters), or no key is configured
	// for the tenant.
	PauseKeyUnusable = "key_unusable"
)

// Verdict is the classification of one Send's result.
type Verdict struct {
	Outcome Outcome
	// Class is one of the Class* or Pause* constants.
	Class string
}

// Classify decides what a Send's result means:
//
//   - no error: delivered;
//   - the caller's context ended the Send: retry later (stopped);
//   - every attempt failed on network errors, timeouts, 408, 429 or 5xx:
//     retry later (budget_spent), the collector dead-letters the event
//     only when its whole budget is spent;
//   - 401, 403: pause the tenant. Regal documents 401 as "API key missing
//     or invalid", which is true of every event of the tenant;
//   - 404, 405, 3xx: pause the tenant. POST /events is Regal's only path
//     and method and takes any contact, so such an answer says the URL is
//     wrong (base_url, a proxy), never that this event is;
//   - a key that cannot be sent: pause the tenant;
//   - a 400 whose body says what is wrong, 413 and 422, or a body that
//     cannot be encoded: dead-letter the event, which would fail alike
//     however often it is sent;
//   - a 400 with an empty or generic body, or another 4xx: retry later
//     (unexplained); the event's retry budget bounds it.
func Classify(res Result) Verdict {
	return classify(res.Err)
}

func classify(err error) Verdict {
	if err == nil {
		return Verdict{OutcomeDelivered, ClassDelivered}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Attempt timeouts never match these (see Result.Err).
		return Verdict{OutcomeRetryLater, ClassStopped}
	}
	if errors.Is(err, ErrRetryBudgetSpent) {
		return Verdict{OutcomeRetryLater, ClassBudgetSpent}
	}
	var ce *configError
	if errors.As(err, &ce) {
		return Verdict{OutcomePauseTenant, ce.reason}
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return Verdict{OutcomeDeadLetter, ClassUnencodable}
	}
	var se *StatusError
	if !errors.As(err, &se) {
		return Verdict{OutcomeRetryLater, ClassTransient} // network error or attempt timeout
	}
	switch s := se.Status; {
	case retryableStatus(s):
		return Verdict{OutcomeRetryLater, ClassTransient}
	case s == http.StatusUnauthorized:
		return Verdict{OutcomePauseTenant, PauseUnauthorized}
	case s == http.StatusForbidden:
		return Verdict{OutcomePauseTenant, PauseForbidden}
	case s == http.StatusNotFound || s == http.StatusMethodNotAllowed || (s >= 300 && s < 400):
		return Verdict{OutcomePauseTenant, PauseEndpoint}
	case s == http.StatusBadRequest && explains(se.Body, s):
		return Verdict{OutcomeDeadLetter, ClassBadRequest}
	case s == http.StatusRequestEntityTooLarge:
		return Verdict{OutcomeDeadLetter, ClassTooLarge}
	case s == http.StatusUnprocessableEntity:
		return Verdict{OutcomeDeadLetter, ClassUnprocessable}
	}
	return Verdict{OutcomeRetryLater, ClassUnexplained}
}

// genericMessages are error messages that name no field or value: a body
// made only of one of them says nothing about the event.
var genericMessages = map[string]bool{
	"": true, "error": true, "bad request": true, "invalid request": true, "invalid body": true,
	"invalid payload": true, "validation error": true, "validation failed": true,
}

// explains reports whether an error body says what is wrong: a message
// beyond the status text and the usual generic words. Regal's gateway
// answers {"message": "..."}; the message alone is judged.
func explains(body string, status int) bool {
	msg := strings.TrimSpace(body)
	var m struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(msg), &m) == nil && (m.Message != nil || m.Error != nil) {
		msg = strings.TrimSpace(jsonText(m.Message) + " " + jsonText(m.Error))
	}
	msg = strings.ToLower(strings.Trim(msg, " .!:;\t\r\n"))
	return !genericMessages[msg] && msg != strings.ToLower(http.StatusText(status))
}

// jsonText is a JSON string's text, or any other JSON value as written.
func jsonText(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// transient reports whether another attempt within the same Send may
// succeed: only network errors, attempt timeouts, 408, 429 and 5xx.
func transient(err error) bool {
	v := classify(err)
	return v.Outcome == OutcomeRetryLater && v.Class == ClassTransient
}
