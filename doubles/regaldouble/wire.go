package regaldouble

// The double's own wire types, written from Regal's published OpenAPI for
// POST /events ("regal-voice-api" 1.2, kept in the repository as
// testdata/regal/regal-events-openapi.yml and checked against it by the
// tests). They are the double's and not the client's, so that a field the
// client names wrongly is not read back by the same mistake.

// Event is the JSON body of POST /events. A body with a Name records an
// event; one with Traits creates or updates the contact; one may do both.
type Event struct {
	// UserID is Regal's "External ID" of the contact.
	UserID string `json:"userId,omitempty"`
	// Traits are the contact's attributes.
	Traits *Traits `json:"traits,omitempty"`
	// Name is the event name (case-sensitive).
	Name string `json:"name,omitempty"`
	// Properties are the event's own properties, any names. Numbers are
	// json.Number, so a test can tell 61 from 61.0 and from "61".
	Properties map[string]any `json:"properties,omitempty"`
	// EventSource names the system the event came from.
	EventSource string `json:"eventSource,omitempty"`
	// OriginalTimestamp is the time of the event, as the sender wrote it.
	OriginalTimestamp string `json:"originalTimestamp,omitempty"`
}

// Traits are the documented contact attributes. Regal keeps any other
// trait as a custom contact property; the double does not record those.
type Traits struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	// Phones is keyed by the phone number.
	Phones map[string]Phone `json:"phones,omitempty"`
	// Emails is keyed by the email address.
	Emails  map[string]Email `json:"emails,omitempty"`
	Address *Address         `json:"address,omitempty"`
}

// Phone is one of the contact's phone numbers. Its zero value is the body
// {}, which only attaches the number to the contact.
type Phone struct {
	Label string `json:"label,omitempty"`
	// IsPrimary, when present, makes (true) or unmakes (false) this number
	// the one journeys use.
	IsPrimary  *bool  `json:"isPrimary,omitempty"`
	VoiceOptIn *OptIn `json:"voiceOptIn,omitempty"`
	SMSOptIn   *OptIn `json:"smsOptIn,omitempty"`
}

// Email is one of the contact's email addresses.
type Email struct {
	Label      string `json:"label,omitempty"`
	IsPrimary  *bool  `json:"isPrimary,omitempty"`
	EmailOptIn *OptIn `json:"emailOptIn,omitempty"`
}

// OptIn is a subscription status of a phone (voice, SMS) or an email.
type OptIn struct {
	Subscribed *bool  `json:"subscribed,omitempty"`
	IP         string `json:"ip,omitempty"`
	Source     string `json:"source,omitempty"`
	Text       string `json:"text,omitempty"`
	Timestamp  string `json:"timestamp,omitempty"`
}

// Address is the contact's postal address.
type Address struct {
	Street  string `json:"street,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Zipcode string `json:"zipcode,omitempty"`
	Country string `json:"country,omitempty"`
}

// Answer is the JSON body of the double's answers: {"message":"ok"} for an
// accepted event, as Regal documents, and the reason otherwise.
type Answer struct {
	Message string `json:"message"`
}
