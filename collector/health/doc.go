// Package health keeps the collector's probes: readiness (/readyz and the
// gRPC health of "" and of the DeliveryService) says whether dispatchers
// may be sent to it, liveness (/healthz) only that its probe loop turns.
//
// The Monitor owns the collector's lifecycle state as the probes see it
// (new, starting, running, stopping), the Redis ping (every second, and
// the wait for Redis at start), the gRPC health server with one entry per
// tenant's SAPI stream ("sapi/<tenant>"), and the readiness checks other
// rooms add (the tenant leases). It owns no connection: it is given a ping
// function and the streams' states.
package health
