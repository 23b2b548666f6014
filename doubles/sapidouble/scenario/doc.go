// Package scenario writes realistic 8x8 SAPI event sequences for tests and
// demos: whole call flows as the raw JSON events SAPI streams, with the
// field names, casing and value types of 8x8's published samples (numbers
// as numbers, "N/A" inboundChannelid on outbound calls, attachedDatum
// arrays), a consistent interactionGUID, transactionNum equal to the
// attached tok, and non-decreasing timestamps.
//
// Everything is derived from the *rand.Rand passed in, so a seed gives the
// same bytes every time. Events carry no msgInfo: the SAPI double stamps it
// when they are published.
package scenario
