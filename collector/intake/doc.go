// Package intake is the way in: it carries each tenant's events from its
// 8x8 SAPI stream to the scheduler.
//
// The path of one event through it: the tenant's sapi.Client hands a
// frame to the tenant's pipeline (handleFrame), which decodes it
// (sapi.Decode), counts or keeps it when it is malformed, and queues it
// within a byte budget shared by all tenants (budget.go: at the bound the
// reader waits and 8x8 keeps the events). The pipeline's admitter batches
// the queued events, starts each one's receive span in its interaction's
// trace (the trace context comes from an in-memory cache, tracecache.go,
// or from Redis), admits the batch to Redis with atomic dedup
// (eventstore.Store.Admit, retried until Redis takes it), records the
// admissions on the timeline and enqueues the new events in the
// scheduler.
//
// Before a tenant's stream opens, intake schedules again the events an
// earlier run admitted and did not settle (recover.go), so that newer
// events cannot overtake them, and compares the tenant's last-frame time
// kept in Redis with now (gapwatch.go): a collector that was down longer
// than 8x8's replay cache raises the possible-gap alert.
//
// Intake owns its pipelines, the tenants' SAPI clients, the byte budget,
// the trace-context caches and the metrics of that path
// (ccb.collector.events.*, .frames.malformed, .admit.errors, .event_wait,
// .pending_bytes, .sapi.*). It does not own the store, the scheduler, the
// timeline recorder nor the Redis client it is given. Work that must
// reach the scheduler in stream order with admissions (dead-letter
// replays and releases) runs in a tenant's admitter through Intake.Do,
// once Intake.Recovered is closed.
package intake
