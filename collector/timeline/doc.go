// Package timeline keeps, in Redis, what happened to every 8x8 interaction
// event on its way to Regal, for the query service: each event as received
// (the raw SAPI payload, capped, and the normalized event), its dedup
// verdicts, its delivery state, attempts and Regal status, and a history of
// changes; plus secondary indexes that answer "which interactions did this
// phone have", "what did this campaign produce", "what is dead-lettered"
// without scanning everything.
//
// Only Interaction events with an interaction id are kept: agent events are
// never sent to Regal and belong to no interaction.
//
// # Writing
//
// The collector reports changes through a Recorder, which never blocks: it
// queues them (bounded; overflow is dropped and counted) and writes each
// batch in one Redis pipeline. Store.Record is the synchronous form.
// Writes are idempotent and, per event, commutative where it matters (a
// settlement written before its admission still leaves the right state).
// After a batch is written its changes go to the Hub, which fans them out
// to watchers without ever waiting for one.
//
// # Key layout
//
// No command touches two keys, so every key may live on any Redis Cluster
// node; hash tags keep an interaction's keys together and spread the rest.
//
//	<p>:tl:{<tenant>:<interaction>}:i   hash: the interaction's summary and per-event state
//	<p>:tl:{<tenant>:<interaction>}:h   stream: its history (capped at HistoryMaxLen entries)
//	<p>:tl:e:{<tenant>:<event>}         string: one event (record codec, deflated), written once
//	<p>:tl:ix:{<tenant>:<dim>}          sorted set: interactions, score = latest receive time (ms)
//	<p>:tl:ev:{<tenant>:<dim>}          sorted set: events, score = first receive time (ms)
//
// <event> is the event's dedup key. <dim> is "all", "ph:<E.164>",
// "cp:<campaign>", "q:<queue>", "ag:<agent>", or (interactions only)
// "dead" (score = dead-letter time; members are verified at read).
//
// Every key lives at least Retention after its last write: an event's
// key expires Retention after it is written, the others take a TTL a few
// minutes longer (Retention plus twice a refresh interval, a hundredth
// of it within 30 s and 5 min), which a write sets again only when the
// store has not set it for a refresh interval. Index members older than
// Retention are trimmed when the index is written, at most once a minute
// per index; listings skip those not trimmed yet.
//
// The store remembers (for the keys written lately, within a bound) when
// it set each TTL, trimmed each index and wrote the summary fields that
// keep their first value, and leaves out of a batch what would change
// nothing; a batch also merges its writes to one summary into one HSET.
// The memory is lost with the process and dropped after a failed write:
// then the next writes send everything again.
//
// # Size
//
// An event keeps its raw payload up to RawMaxBytes and its normalized
// form (without attached data above that), deflated with a dictionary of
// SAPI's vocabulary; its state, counters and history entries are a few
// dozen bytes each; an interaction keeps at most HistoryMaxLen history
// entries and 16 agents. With 8x8-shaped events (1.7 KB of JSON each) a
// stored event takes about 2.4 KB of Redis memory, indexes included
// (BenchmarkListInteractionsByPhone in collector/query measures it).
package timeline
