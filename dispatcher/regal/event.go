// Package regal is a client for Regal's inbound events API
// (POST https://events.regalvoice.com/events) and the request body it
// accepts. Each request carries one event; Regal has no batch endpoint and
// no idempotency key, so a retried request may record the event twice.
package regal

import "time"

// TimestampLayout is the layout of originalTimestamp. Regal documents
// "2000-08-20 09:12:28 -04:00"; the bridge always writes UTC, so the offset
// is "+00:00".
const TimestampLayout = "2006-01-02 15:04:05 -07:00"

// FormatTimestamp formats t in UTC with TimestampLayout, for example
// "2024-08-26 15:18:03 +00:00". Sub-second precision is dropped.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(TimestampLayout)
}

// Event is the JSON body of POST /events, as described by Regal's OpenAPI
// ("regal-voice-api" 1.2). A request with a Name records an event; a
// request with Traits creates or updates the contact; one request may do
// both.
type Event struct {
	// UserID is Regal's "External ID" of the contact. The bridge leaves it
	// empty and identifies contacts by phone.
	UserID string `json:"userId,omitempty"`
	// Traits are contact attributes; Traits.Phones identifies the contact.
	Traits *Traits `json:"traits,omitempty"`
	// Name is the event name. Regal event names are case-sensitive.
	Name string `json:"name"`
	// Properties are the event's properties. Regal fixes a property's type
	// on first write, so a property must keep one JSON type.
	Properties map[string]any `json:"properties,omitempty"`
	// EventSource names the system the event came from, e.g. "8x8".
	EventSource string `json:"eventSource,omitempty"`
	// OriginalTimestamp is the event time, formatted with FormatTimestamp.
	OriginalTimestamp string `json:"originalTimestamp,omitempty"`
}

// Traits are the contact attributes the bridge sends.
type Traits struct {
	// Phones is keyed by the phone number in E.164 (the July-2023 shape).
	// Adding a number this way does not change which phone is the
	// contact's primary, unlike the legacy traits.phone field.
	Phones map[string]PhoneTrait `json:"phones,omitempty"`
}

// PhoneTrait describes one of the contact's phone numbers. Its zero value
// encodes as {} and only attaches the number to the contact.
type PhoneTrait struct {
	// Label is a free-text label such as "Mobile" or "Work".
	Label string `json:"label,omitempty"`
	// IsPrimary, when set, makes (true) or unmakes (false) this number the
	// one journeys use. Nil leaves Regal's choice unchanged.
	IsPrimary *bool `json:"isPrimary,omitempty"`
}
