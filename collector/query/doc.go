// Package query serves the QueryService (proto/ccbridge/query/v1): what
// happened to each interaction and event, from the timeline store
// (collector/timeline), the dead letters from the event store, replays
// through the collector, and a live watch of changes.
//
// NewService builds the service; Serve runs it on its own listener with
// bearer-token (and optional TLS/mTLS) authentication, the standard health
// service (no token needed) and server reflection (so grpcurl and buf curl
// work without .proto files).
//
// Errors are gRPC statuses with fixed messages: INVALID_ARGUMENT names the
// field, NOT_FOUND the kind of resource, UNAVAILABLE says the store did
// not answer; the underlying error is logged, never returned.
package query
