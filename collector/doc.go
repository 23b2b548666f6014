// Package collector is the collector service: it holds one SAPI stream per
// tenant (collector/sapi), decodes each frame, admits new events to Redis
// with atomic dedup (collector/eventstore), schedules them in per-
// interaction order (collector/scheduler) and streams them to dispatchers
// over gRPC (collector/delivery).
//
// The path of one event: sapi (frame, decode) → pipeline (batch) →
// eventstore (dedup + durable hand-off) → scheduler → delivery (gRPC) →
// dispatcher → ack → scheduler → eventstore (settle).
package collector
