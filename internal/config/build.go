package config

import (
	"cmp"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/dispatcher/translate"
)

// The components' configurations as the file gives them: the services
// build their components from these, and Validate* runs the components'
// own validators on the same values, so a file that passes -check-config
// is the one the services start with.

// EventStoreConfig is the collector's event store.
func (c *Config) EventStoreConfig() eventstore.Config {
	sc := c.Collector.Store
	return eventstore.Config{KeyPrefix: sc.KeyPrefix, Partitions: sc.Partitions, DedupTTL: sc.DedupTTL,
		TraceTTL: sc.TraceTTL, MalformedMaxLen: sc.MalformedMaxLen,
		MalformedMaxBytes: cmp.Or(sc.MalformedMaxBytes, eventstore.DefaultMalformedMaxBytes),
		DeadLetterMaxLen:  sc.DeadLetterMaxLen, DeadLetterMaxAge: sc.DeadLetterMaxAge}
}

// SchedulerConfig is the collector's scheduler: the scheduler's defaults
// under what the file sets.
func (c *Config) SchedulerConfig() scheduler.Config {
	cs := c.Collector.Scheduler
	ss := scheduler.DefaultConfig()
	ss.MaxBuffered, ss.DefaultMaxInFlight = cs.MaxBuffered, cs.DefaultMaxInFlight
	ss.RetryDelayMin, ss.RetryDelayMax = cs.RetryDelayMin, cs.RetryDelayMax
	ss.MaxAttempts, ss.MaxRetryAge = cs.MaxAttempts, cs.MaxRetryAge
	ss.SettleLinger = cs.SettleLinger
	ss.MaxBufferedBytes, ss.MaxInFlightBytes = cs.MaxBufferedBytes, cs.MaxInFlightBytes
	ss.DeadLetterPolicy = cmp.Or(cs.DeadLetterPolicy, ss.DeadLetterPolicy)
	ss.PauseDelay = cmp.Or(cs.PauseDelay, ss.PauseDelay)
	return ss
}

// OutputFormat is the SAPI desiredOutputType every tenant's stream asks
// for (NEWLINE_JSON when the file sets none).
func (c *Config) OutputFormat() (sapi.Format, error) {
	if c.Collector.OutputFormat == "" {
		return sapi.FormatNewlineJSON, nil
	}
	return sapi.ParseFormat(c.Collector.OutputFormat)
}

// SAPIConfig is tenant i's SAPI client, with its defaults set; format is
// OutputFormat's.
func (c *Config) SAPIConfig(i int, format sapi.Format) sapi.Config {
	cc, t := c.Collector, c.Tenants[i]
	sc := sapi.Config{BaseURL: t.SAPI.BaseURL, Tenant: t.Name, Username: t.SAPI.Username, Token: t.SAPI.Token,
		SubscriptionID: t.SAPI.SubscriptionID, OutputFormat: format, MaxEventBytes: cc.MaxEventBytes,
		IdleTimeout: cc.IdleTimeout, IdleTimeoutMin: cc.IdleTimeoutMin, MissedHeartbeats: cc.MissedHeartbeats,
		Transport: cc.Transport}
	sc.SetDefaults()
	return sc
}

// TimelineConfig is the collector's timeline store.
func (c *Config) TimelineConfig() timeline.Config {
	return timeline.Config{KeyPrefix: c.Collector.Store.KeyPrefix, Retention: c.Collector.Query.Retention,
		RawMaxBytes: c.Collector.Query.RawMaxBytes, HistoryMaxLen: timeline.DefaultHistoryMaxLen,
		DefaultRegion: c.Dispatcher.Mapping.DefaultRegion}
}

// RegalConfig is the dispatcher's Regal client, without the parts the
// dispatcher adds at run time (user agent, telemetry providers).
func (c *Config) RegalConfig() regal.Config {
	r := c.Dispatcher.Regal
	return regal.Config{BaseURL: r.BaseURL, Timeout: r.Timeout, MaxAttempts: r.MaxAttempts,
		BackoffInitial: r.BackoffInitial, BackoffMax: r.BackoffMax}
}

// Mapping is the dispatcher's 8x8 → Regal mapping: the default under what
// the file sets (a non-empty events list replaces the default table).
func (c *Config) Mapping() translate.Mapping {
	dm := c.Dispatcher.Mapping
	m := translate.DefaultMapping()
	if len(dm.Events) > 0 {
		m.Events = nil
		for _, e := range dm.Events {
			m.Events = append(m.Events, translate.EventMapping{Source: e.Source, Name: e.Name})
		}
	}
	m.EventSource = cmp.Or(dm.EventSource, m.EventSource)
	m.DefaultRegion = cmp.Or(dm.DefaultRegion, m.DefaultRegion)
	if dm.DispositionNames != nil {
		m.DispositionNames = dm.DispositionNames
	}
	return m
}
