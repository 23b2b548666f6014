package config

import (
	"fmt"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/dispatcher/translate"
)

// The components' own validators, run on the configurations the services
// give them (as collector.New and dispatcher.New build them), so that a
// file is checked in full without building, connecting or listening.

// collectorComponentProblems validates the SAPI client of every tenant,
// the event store, the scheduler and the timeline.
func (c *Config) collectorComponentProblems() []string {
	var out []string
	format, err := c.OutputFormat()
	out = append(out, component{section: "collector.output_format", prefixes: []string{"sapi: "}}.problems(err)...)
	for i := range c.Tenants {
		where := fmt.Sprintf("tenants[%d]", i)
		sc := c.SAPIConfig(i, format)
		out = append(out, component{
			section:  where + ".sapi",
			prefixes: []string{"sapi config: ", "sapi: "},
			keys: map[string]string{
				"base_url": where + ".sapi.base_url", "tenant": where + ".name", "username": where + ".sapi.username",
				"token": where + ".sapi.token", "subscription_id": where + ".sapi.subscription_id",
				"output_format": "collector.output_format", "max_event_bytes": "collector.max_event_bytes",
				"idle_timeout": "collector.idle_timeout", "transport": "collector.transport",
				"idle_timeout_min": "collector.idle_timeout_min", "missed_heartbeats": "collector.missed_heartbeats",
			},
			literals: []string{sapi.TransportStreaming, sapi.TransportWebSocket},
		}.problems(sc.Validate())...)
	}
	es := c.EventStoreConfig()
	out = append(out, component{section: "collector.store", keys: sectionKeys("collector.store",
		"key_prefix", "partitions", "dedup_ttl", "trace_ttl", "malformed_max_len", "malformed_max_bytes",
		"dead_letter_max_len", "dead_letter_max_age")}.problems(es.Validate())...)

	ss := c.SchedulerConfig()
	out = append(out, component{section: "collector.scheduler", keys: sectionKeys("collector.scheduler",
		"max_buffered", "default_max_in_flight", "retry_delay_min", "retry_delay_max", "max_attempts",
		"max_retry_age", "settle_linger", "max_buffered_bytes", "max_in_flight_bytes", "dead_letter_policy",
		"pause_delay")}.problems(ss.Validate())...)

	tc := c.TimelineConfig()
	out = append(out, component{section: "collector.query", keys: map[string]string{
		"key_prefix": "collector.store.key_prefix", "retention": "collector.query.retention",
		"raw_max_bytes": "collector.query.raw_max_bytes", "default_region": "dispatcher.mapping.default_region",
	}}.problems(tc.Validate())...)
	return out
}

// dispatcherComponentProblems validates the Regal client and the event
// mapping.
func (c *Config) dispatcherComponentProblems() []string {
	var out []string
	rc := c.RegalConfig()
	out = append(out, component{section: "dispatcher.regal", prefixes: []string{"regal: "}, keys: sectionKeys("dispatcher.regal",
		"base_url", "timeout", "max_attempts", "backoff_initial", "backoff_max")}.problems(rc.Validate())...)

	m := c.Mapping()
	out = append(out, component{section: "dispatcher.mapping", prefixes: []string{"translate: mapping: "},
		keys:     sectionKeys("dispatcher.mapping", "events", "event_source", "default_region"),
		literals: []string{translate.DefaultRegion}}.problems(m.Validate())...)
	return out
}

// sectionKeys maps each key to section.key.
func sectionKeys(section string, keys ...string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = section + "." + k
	}
	return out
}
