// Package deadletter keeps the dead letters: the events a dispatcher
// could not deliver and never will as they are (see docs/outcomes.md).
//
// The letters themselves are in Redis (collector/eventstore writes them
// when the scheduler settles an event as dead-lettered); the scheduler
// holds, in memory, the interactions waiting behind a letter under
// dead_letter_policy hold. The Keeper owns what happens to them around
// that:
//
//   - holds.go: at start, before a tenant's unsettled events are
//     scheduled again, the holds an earlier run left are restored (hold)
//     or ended (skip); releaseHeld schedules the events of an interaction
//     whose hold is gone, from Redis, in order;
//   - bounds.go: every dead_letter_check_interval the dead-letter streams
//     are measured against their bounds (length and age), what is beyond
//     them is dropped for good and counted, and the interactions a
//     dropped letter held are released;
//   - replay.go: Replay sends letters back to delivery (the QueryService's
//     ReplayDeadLetters and operations call it), a held interaction's
//     letter first and its later events after it.
//
// Whatever a release or a replay schedules runs in the tenant's admitter
// (collector/intake, through Admitter), so it reaches the scheduler in
// stream order with new admissions, and only once the tenant's recovered
// events are scheduled. The Keeper also counts and logs each event
// dead-lettered (Settled) and reports the dead letters' metrics
// (ccb.collector.dead_letters*, ccb.collector.held_interactions).
package deadletter
