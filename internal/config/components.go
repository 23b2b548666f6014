package config

import (
	"fmt"
	"reflect"

	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/dispatcher/translate"
	"github.com/ccbridge/bridge/internal/registry"
)

// Most components take their section as it is (c.Collector.Scheduler,
// c.Dispatcher.Regal.Config). The configurations below also take settings
// of other sections. The validators run on what the services give the
// components, so that a file that passes -check-config is the one the
// services start with; they build, connect and listen to nothing.

// SAPIConfig is tenant i's SAPI client: the tenant's connection and the
// collector's stream settings, with the client's defaults set.
func (c *Config) SAPIConfig(i int) sapi.Config {
	t := c.Tenants[i]
	sc := sapi.Config{BaseURL: t.SAPI.BaseURL, Tenant: t.Name, Username: t.SAPI.Username, Token: t.SAPI.Token,
		SubscriptionID: t.SAPI.SubscriptionID, StreamConfig: c.Collector.StreamConfig}
	sc.SetDefaults()
	return sc
}

// TimelineConfig is the collector's timeline store: collector.query's
// settings under the event store's key prefix, reading phones with the
// dispatchers' default region.
func (c *Config) TimelineConfig() timeline.Config {
	tc := c.Collector.Query.Config
	tc.KeyPrefix = c.Collector.Store.KeyPrefix
	tc.DefaultRegion = c.Dispatcher.Mapping.DefaultRegion
	return tc
}

// LeaseConfig is the collector's tenant leases, under the event store's
// key prefix.
func (c *Config) LeaseConfig() lease.Config {
	lc := c.Collector.Lease
	lc.KeyPrefix = c.Collector.Store.KeyPrefix
	return lc
}

// RegistryConfig is the collector's entry in the collector registry,
// under the event store's key prefix.
func (c *Config) RegistryConfig() registry.Config {
	rc := c.Collector.Registry
	rc.KeyPrefix = c.Collector.Store.KeyPrefix
	return rc
}

// BalanceConfig is how the collector shares its tenants with others,
// under the event store's key prefix, its members lasting a lease TTL.
func (c *Config) BalanceConfig() balance.Config {
	bc := c.Collector.Balance
	bc.KeyPrefix = c.Collector.Store.KeyPrefix
	bc.MemberTTL = c.LeaseConfig().TTL
	return bc
}

// collectorComponentProblems validates the stream settings, the SAPI
// client of every tenant, the event store, the scheduler, the timeline and
// the leases.
func (c *Config) collectorComponentProblems() []string {
	cc := c.Collector
	stream := cc.StreamConfig
	stream.SetDefaults() // as each tenant's client does
	out := sectionOf("collector", stream).withLiterals(sapi.TransportStreaming, sapi.TransportWebSocket).
		problems(stream.Validate())
	for i := range c.Tenants {
		where := fmt.Sprintf("tenants[%d]", i)
		s := sectionOf(where+".sapi", TenantSAPI{}).withPrefixes("sapi config: ", "sapi: ")
		s.keys["tenant"] = where + ".name"
		for k := range yamlFields(reflect.TypeFor[sapi.StreamConfig]()) {
			s.keys[k] = "" // reported under collector, above
		}
		sc := c.SAPIConfig(i)
		out = append(out, s.problems(sc.Validate())...)
	}
	out = append(out, sectionOf("collector.store", cc.Store).problems(cc.Store.Validate())...)
	out = append(out, sectionOf("collector.scheduler", cc.Scheduler).withLiterals(scheduler.PolicyHold, scheduler.PolicySkip).
		problems(cc.Scheduler.Validate())...)

	tl := sectionOf("collector.query", cc.Query.Config)
	tl.keys["key_prefix"] = "collector.store.key_prefix"
	tl.keys["default_region"] = "dispatcher.mapping.default_region"
	out = append(out, tl.problems(c.TimelineConfig().Validate())...)

	lc := c.LeaseConfig()
	lc.SetDefaults() // as lease.New does
	ls := sectionOf("collector.lease", lc).withPrefixes("lease: ")
	ls.keys["key_prefix"] = "collector.store.key_prefix"
	out = append(out, ls.problems(lc.Validate())...)
	out = append(out, sectionOf("collector.balance", cc.Balance).withPrefixes("balance: ").
		withLiterals(string(balance.ModeStatic), string(balance.ModeRendezvous)).problems(cc.Balance.Validate())...)
	if c.Dispatcher.Discovery == DiscoveryRedis {
		rs := sectionOf("collector.registry", c.Collector.Registry)
		rs.keys["key_prefix"] = "collector.store.key_prefix"
		out = append(out, rs.problems(c.RegistryConfig().Validate())...)
	}
	return out
}

// dispatcherComponentProblems validates the Regal settings (the client's
// included) and the event mapping.
func (c *Config) dispatcherComponentProblems() []string {
	dc := c.Dispatcher
	out := sectionOf("dispatcher.regal", dc.Regal).withPrefixes("regal: ").problems(dc.Regal.Validate())
	m := dc.Mapping
	return append(out, sectionOf("dispatcher.mapping", m).withPrefixes("translate: mapping: ").
		withLiterals(translate.DefaultRegion).problems(m.Validate())...)
}
