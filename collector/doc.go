// Package collector is the collector service's assembly: New builds its
// rooms from the configuration and wires them together, Start starts them
// in order, Shutdown stops them in order. The work is done in the rooms,
// named for what they do.
//
// The path of one event, by folder:
//
//	collector/sapi        the tenant's SAPI stream: frames, decoded events
//	collector/intake      decode, trace context, admit to Redis, schedule
//	collector/eventstore  Redis: atomic dedup and the durable hand-off
//	collector/scheduler   per-interaction order, a dispatcher per interaction
//	collector/delivery    the gRPC DeliveryService to the dispatchers
//	                      → dispatcher → ack →
//	collector/scheduler   settles the event in collector/eventstore
//
// Beside the path: collector/deadletter (holds behind dead letters, their
// bounds, replay), collector/lease (one collector per tenant),
// collector/balance (tenants spread over collectors, rendezvous mode),
// collector/health (readiness, liveness, gRPC health), collector/timeline
// and collector/query (the history of every event and the QueryService).
// docs/architecture.md ("Where things live") has the map.
//
// The collector owns its Redis clients and every room it makes; the
// telemetry it is given stays the caller's. Every room reports its
// metrics and spans under one instrumentation name (instrumentation).
package collector
