// Package dispatcher is the dispatcher service: it subscribes to the
// collector, translates each delivered 8x8 event into a Regal custom event
// (dispatcher/translate), sends it to the tenant's Regal account
// (dispatcher/regal), and acknowledges the delivery with its outcome.
//
// The path of one event: subscriber (receive) → Handle → translate → regal
// → subscriber (ack).
package dispatcher
