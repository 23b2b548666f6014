package config

import (
	"cmp"
	"fmt"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
)

// The components' own validators, run on the configurations the services
// give them (as collector.New and dispatcher.New build them), so that a
// file is checked in full without building, connecting or listening.

// collectorComponentProblems validates the SAPI client of every tenant,
// the event store, the scheduler and the timeline.
func (c *Config) collectorComponentProblems() []string {
	cc := c.Collector
	var out []string
	format := sapi.FormatNewlineJSON
	if cc.OutputFormat != "" {
		f, err := sapi.ParseFormat(cc.OutputFormat)
		out = append(out, component{section: "collector.output_format", prefixes: []string{"sapi: "}}.problems(err)...)
		format = f
	}
	for i, t := range c.Tenants {
		where := fmt.Sprintf("tenants[%d]", i)
		sc := sapi.Config{BaseURL: t.SAPI.BaseURL, Tenant: t.Name, Username: t.SAPI.Username, Token: t.SAPI.Token,
			SubscriptionID: t.SAPI.SubscriptionID, OutputFormat: format, MaxEventBytes: cc.MaxEventBytes,
			IdleTimeout: cc.IdleTimeout, IdleTimeoutMin: cc.IdleTimeoutMin, MissedHeartbeats: cc.MissedHeartbeats,
			Transport: cc.Transport}
		sc.SetDefaults()
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
	sc := cc.Store
	es := eventstore.Config{KeyPrefix: sc.KeyPrefix, Partitions: sc.Partitions, DedupTTL: sc.DedupTTL,
		TraceTTL: sc.TraceTTL, MalformedMaxLen: sc.MalformedMaxLen,
		MalformedMaxBytes: cmp.Or(sc.MalformedMaxBytes, eventstore.DefaultMalformedMaxBytes),
		DeadLetterMaxLen:  sc.DeadLetterMaxLen, DeadLetterMaxAge: sc.DeadLetterMaxAge}
	out = append(out, component{section: "collector.store", keys: sectionKeys("collector.store",
		"key_prefix", "partitions", "dedup_ttl", "trace_ttl", "malformed_max_len", "malformed_max_bytes", "dead_letter_max_len", "dead_letter_max_age")}.problems(es.Validate())...)

	ss := scheduler.DefaultConfig()
	ss.MaxBuffered, ss.DefaultMaxInFlight = cc.Scheduler.MaxBuffered, cc.Scheduler.DefaultMaxInFlight
	ss.RetryDelayMin, ss.RetryDelayMax = cc.Scheduler.RetryDelayMin, cc.Scheduler.RetryDelayMax
	ss.MaxAttempts, ss.MaxRetryAge = cc.Scheduler.MaxAttempts, cc.Scheduler.MaxRetryAge
	ss.SettleLinger = cc.Scheduler.SettleLinger
	ss.MaxBufferedBytes, ss.MaxInFlightBytes = cc.Scheduler.MaxBufferedBytes, cc.Scheduler.MaxInFlightBytes
	out = append(out, component{section: "collector.scheduler", keys: sectionKeys("collector.scheduler",
		"max_buffered", "default_max_in_flight", "retry_delay_min", "retry_delay_max", "max_attempts",
		"max_retry_age", "settle_linger", "max_buffered_bytes", "max_in_flight_bytes")}.problems(ss.Validate())...)

	tc := timeline.Config{KeyPrefix: sc.KeyPrefix, Retention: cc.Query.Retention, RawMaxBytes: cc.Query.RawMaxBytes,
		HistoryMaxLen: timeline.DefaultHistoryMaxLen, DefaultRegion: c.Dispatcher.Mapping.DefaultRegion}
	out = append(out, component{section: "collector.query", keys: map[string]string{
		"key_prefix": "collector.store.key_prefix", "retention": "collector.query.retention",
		"raw_max_bytes": "collector.query.raw_max_bytes", "default_region": "dispatcher.mapping.default_region",
	}}.problems(tc.Validate())...)
	return out
}

// dispatcherComponentProblems validates the Regal client and the event
// mapping.
func (c *Config) dispatcherComponentProblems() []string {
	dc := c.Dispatcher
	var out []string
	rc := regal.Config{BaseURL: dc.Regal.BaseURL, Timeout: dc.Regal.Timeout, MaxAttempts: dc.Regal.MaxAttempts,
		BackoffInitial: dc.Regal.BackoffInitial, BackoffMax: dc.Regal.BackoffMax}
	out = append(out, component{section: "dispatcher.regal", prefixes: []string{"regal: "}, keys: sectionKeys("dispatcher.regal",
		"base_url", "timeout", "max_attempts", "backoff_initial", "backoff_max")}.problems(rc.Validate())...)

	m := translate.DefaultMapping()
	if len(dc.Mapping.Events) > 0 {
		m.Events = nil
		for _, e := range dc.Mapping.Events {
			m.Events = append(m.Events, translate.EventMapping{Source: e.Source, Name: e.Name})
		}
	}
	if dc.Mapping.EventSource != "" {
		m.EventSource = dc.Mapping.EventSource
	}
	if dc.Mapping.DefaultRegion != "" {
		m.DefaultRegion = dc.Mapping.DefaultRegion
	}
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
