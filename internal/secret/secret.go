// Package secret holds credentials (8x8 tokens, CRM password, Regal keys) in
// a type that never prints its value: fmt, slog, JSON and YAML encoders all
// see "[redacted]". Call Reveal only where the value goes on the wire.
package secret

import "log/slog"

// Secret is a credential. Its zero value is the empty secret.
type Secret string

const redacted = "[redacted]"

// Reveal returns the credential itself. Use it only to build a request.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether no credential is set.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer without the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders (JSON, YAML) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a credential from configuration.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }
