package chaos

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Names of the environment variables holding a run's secrets; the
// configuration file refers to them as ${NAME}.
const (
	sapiTokenEnv     = "CHAOS_SAPI_TOKEN"
	regalKeyEnv      = "CHAOS_REGAL_KEY"
	phoneHashSaltEnv = "CHAOS_PHONE_HASH_SALT"
)

// Delivery is the retry and concurrency tuning the run gives the bridge.
type Delivery struct {
	// SchedulerRetryDelayMin and SchedulerRetryDelayMax pace the
	// collector's redelivery of events a dispatcher gave back as retryable
	// (collector.scheduler.retry_delay_min, _max).
	SchedulerRetryDelayMin time.Duration
	SchedulerRetryDelayMax time.Duration
	// SchedulerMaxAttempts and SchedulerMaxRetryAge are an event's whole
	// retry budget, across redeliveries (collector.scheduler.max_attempts,
	// max_retry_age): spent, the event is dead-lettered. It must outlast a
	// Regal outage.
	SchedulerMaxAttempts int
	SchedulerMaxRetryAge time.Duration
	// RegalMaxAttempts, RegalBackoffInitial and RegalBackoffMax are a
	// dispatcher's retries of one delivery (dispatcher.regal.*); spent on
	// transient failures, the delivery goes back to the collector as
	// retryable.
	RegalMaxAttempts    int
	RegalBackoffInitial time.Duration
	RegalBackoffMax     time.Duration
	// RegalTimeout bounds one request to Regal.
	RegalTimeout time.Duration
	// RegalRateLimit and RegalRateBurst are the requests per second (and
	// the burst) all dispatchers together allow themselves per Regal
	// account, shared through Redis (dispatcher.regal.rate_limit,
	// rate_burst); 0 turns the limit off.
	RegalRateLimit float64
	RegalRateBurst int
	// MaxInFlight is each dispatcher's dispatcher.max_in_flight.
	MaxInFlight int
	// Prefetch is each dispatcher's dispatcher.prefetch.
	Prefetch int
	// StreamMaxAge ends each dispatcher's delivery stream after about this
	// long, so streams rotate during the run (collector.stream_max_age).
	StreamMaxAge time.Duration
	// Pprof serves live profiles on each metrics address
	// (telemetry.pprof). Off, as deployed: heap profiling then costs
	// nothing.
	Pprof bool
}

// bridgeEndpoints are the addresses a configuration file points at.
type bridgeEndpoints struct {
	redis, sapiURL, regalURL, collectorGRPC, collectorMetrics string
	// timelineRedis is the timeline's own Redis; empty keeps it in redis.
	timelineRedis string
}

// keyPrefix and partitions are the Redis layout the run configures; the
// settle check and the dead-letter count read the same keys.
const (
	keyPrefix      = "chaos"
	partitions     = 16
	subscriptionID = "regal-bridge"
)

// writeBridgeConfig writes the collector's and dispatchers' configuration
// file for dispatchers dispatchers. Secrets are ${NAME} references
// resolved from each process's environment; metrics listen on free ports
// (the collector's on at.collectorMetrics, which the bench scrapes).
func writeBridgeConfig(path, tenant string, at bridgeEndpoints, d Delivery, dispatchers int) error {
	yaml := fmt.Sprintf(`# Written by the chaos harness.
redis:
  addr: %s
tenants:
  - name: %s
    sapi:
      base_url: %s
      username: %s
      token: ${%s}
      subscription_id: %s
    regal:
      api_key: ${%s}
collector:
  grpc_listen: %s
  metrics_listen: %s
  stream_max_age: %s
  # A collector killed by the harness is restarted at once; its tenant's
  # lease (held by the dead process) must lapse before the new one serves.
  # A lease unrenewed for nine tenths of its ttl is lost: the ttl outlasts
  # the Redis restarts (at most 2 s down).
  lease:
    ttl: 5s
%s  store:
    key_prefix: %s
    partitions: %d
  scheduler:
    retry_delay_min: %s
    retry_delay_max: %s
    max_attempts: %d
    max_retry_age: %s
dispatcher:
  collector_addr: %s
  metrics_listen: 127.0.0.1:0
  max_in_flight: %d
  prefetch: %d
  shutdown_grace: 2s
  regal:
    base_url: %s
    timeout: %s
    max_attempts: %d
    backoff_initial: %s
    backoff_max: %s
    rate_limit: %g
    rate_burst: %d
    rate_limit_dispatchers: %d
log:
  level: info
telemetry:
  pprof: %t
  phone_hash_salt: ${%s}
`, at.redis, tenant, at.sapiURL, tenant, sapiTokenEnv, subscriptionID, regalKeyEnv,
		at.collectorGRPC, at.collectorMetrics, d.StreamMaxAge, timelineRedisYAML(at.timelineRedis), keyPrefix, partitions, d.SchedulerRetryDelayMin, d.SchedulerRetryDelayMax,
		d.SchedulerMaxAttempts, d.SchedulerMaxRetryAge,
		at.collectorGRPC, d.MaxInFlight, d.Prefetch, at.regalURL, d.RegalTimeout, d.RegalMaxAttempts,
		d.RegalBackoffInitial, d.RegalBackoffMax, d.RegalRateLimit, d.RegalRateBurst, dispatchers, d.Pprof, phoneHashSaltEnv)
	return os.WriteFile(path, []byte(yaml), 0o600)
}

// timelineRedisYAML is the collector's query.redis section for addr, or
// nothing when the timeline stays in the one Redis.
func timelineRedisYAML(addr string) string {
	if addr == "" {
		return ""
	}
	return "  query:\n    redis:\n      addr: " + addr + "\n"
}

// partitionKey is the tag of one (tenant, partition) in Redis keys.
func partitionKey(tenant string, p int) string {
	return keyPrefix + ":{" + tenant + ":" + strconv.Itoa(p) + "}:"
}
