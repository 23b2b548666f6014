// Package chaos proves the bridge's delivery guarantees with real
// processes: it builds the collector, the dispatcher and both doubles,
// runs them on 127.0.0.1 with a real redis-server (AOF, fsync always,
// noeviction), publishes a seeded mix of calls through the SAPI double's
// control API while killing and restarting the collector, the dispatchers
// and Redis, cutting and failing over the SAPI stream and making Regal
// fail (5xx throughout, 429 bursts, an outage), then compares what Regal
// received with the ground truth: every mapped interaction event with a
// phone, identified by (interaction_id, Regal event name,
// originalTimestamp), once and in order per interaction.
//
// The report counts the events expected, delivered, lost, dead-lettered
// (read from the <prefix>:{<tenant>:<p>}:dead streams) and duplicated, and
// the order violations (an event whose first copy reached Regal after the
// first copy of a later event of its interaction). A duplicate is
// explained when a dispatcher or collector kill came between its previous
// copy (at most Options.DuplicateWindow after it) and itself: the
// at-least-once window between Regal's 200 and a durable settlement.
//
// Run it in full, or in small under go test:
//
//	go run ./cmd/chaos
//	go test -run TestChaosShort ./test/chaos
//
// Every child runs in a process group of its own and dies with the
// harness (Harness.Close, or the parent-death signal if the harness is
// killed). The run directory keeps each process's log, the bridge's
// configuration, Redis's data, Regal's arrivals (regal-arrivals.tsv) and,
// from cmd/chaos, report.json.
package chaos
