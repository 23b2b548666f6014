// Package bench measures the bridge under load with real processes: the
// collector, N dispatchers, a real redis-server, the SAPI double and the
// Regal double, started by the chaos harness (test/chaos) with the same
// configuration, without faults and without the client-side Regal rate
// limit (dispatcher.regal.rate_limit: 0; the Regal double has none
// either), so that the pipeline and the ceiling hit the same Regal.
//
// One Run publishes scripted calls through the SAPI double, at full speed
// or paced, waits until Regal accepted every event it must receive, and
// then, against the same Regal double, runs the ceiling: a bare
// keep-alive load generator POSTing the very bodies the bridge sent. The
// Report gives:
//
//   - events/s end to end: Regal events accepted (200) per second, from
//     the first publish request to the last 200; and the SAPI lines per
//     second over the same time;
//   - latency: from the moment the SAPI line was handed to the SAPI
//     double (the start of the publish request carrying its chunk) to the
//     Regal double's arrival time of the request made from it, matched by
//     interaction id, Regal event name and originalTimestamp (the double
//     stamps a request after holding it back for Options.RegalLatency,
//     which is taken off). Both doubles run on this machine's clock. It includes the time a line waits in
//     the SAPI double's buffer, so at full speed it is mostly queueing;
//     paced (Options.Rate) it is the bridge's own latency plus at most one
//     pacing step (20 ms);
//   - CPU seconds per 1,000 Regal events per process (utime + stime from
//     /proc/<pid>/stat, from the first publish to the last 200) and peak
//     RSS per process (VmHWM from /proc/<pid>/status, which includes
//     start-up);
//   - Redis commands per event (INFO stats total_commands_processed, over
//     the same interval, divided by Regal events and by SAPI lines);
//   - the ceiling and the ratio end to end / ceiling.
//
// Tracing: spans are created by default (sampled, not exported: no OTLP
// endpoint is set); Options.Tracing false sets OTEL_TRACES_SAMPLER=
// always_off for the collector and the dispatchers.
//
// Every child runs in its own process group and dies with the run
// (Harness.Close, or the parent-death signal).
package bench
