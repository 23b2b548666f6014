package config

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// IsSet reports whether r names a Redis (an addr, or a cluster's addrs).
func (r Redis) IsSet() bool { return r.Addr != "" || len(r.Addrs) > 0 }

// Where names the Redis r reaches, for messages: its addr, or a
// cluster's first node.
func (r Redis) Where() string {
	if r.Cluster && len(r.Addrs) > 0 {
		return "cluster " + r.Addrs[0]
	}
	return r.Addr
}

// problems validates r, found at path; example is a host:port for the
// messages.
func (r Redis) problems(path, example string) problemList {
	var p problemList
	if !r.Cluster {
		if r.Addr == "" {
			p.add("%s.addr is required", path)
		} else if !isHostPort(r.Addr) {
			p.add("%s.addr must be host:port (e.g. %s)", path, example)
		}
		if len(r.Addrs) > 0 {
			p.add("%s.addrs is for a Redis Cluster (cluster: true); one server takes addr", path)
		}
		return p
	}
	if r.Addr != "" {
		p.add("%s.addr is for one server; a Redis Cluster (cluster: true) takes addrs", path)
	}
	if len(r.Addrs) == 0 {
		p.add("%s.addrs is required with cluster: true (some of the cluster's nodes)", path)
	}
	for i, a := range r.Addrs {
		if !isHostPort(a) {
			p.add("%s.addrs[%d] must be host:port (e.g. %s)", path, i, example)
		}
	}
	if r.DB != 0 {
		p.add("%s.db must be 0 with cluster: true (a Redis Cluster has database 0 only)", path)
	}
	return p
}

// ClientOptions tune the client NewClient builds.
type ClientOptions struct {
	// ContextTimeoutEnabled makes go-redis honour a context's deadline on
	// the socket (go-redis ignores it otherwise).
	ContextTimeoutEnabled bool
	// PoolSize, when positive, replaces go-redis's default (per node on
	// a cluster).
	PoolSize int
	// ReadTimeout, when positive, replaces go-redis's default.
	ReadTimeout time.Duration
}

// NewClient connects to the Redis r describes: a cluster client with
// cluster, else a client of one server. Both services build theirs here,
// so a setting applies alike to both modes.
func (r Redis) NewClient(o ClientOptions) redis.UniversalClient {
	if r.Cluster {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: r.Addrs, Username: r.Username,
			Password: r.Password.Reveal(), ContextTimeoutEnabled: o.ContextTimeoutEnabled,
			PoolSize: o.PoolSize, ReadTimeout: o.ReadTimeout})
	}
	return redis.NewClient(&redis.Options{Addr: r.Addr, Username: r.Username, Password: r.Password.Reveal(),
		DB: r.DB, ContextTimeoutEnabled: o.ContextTimeoutEnabled, PoolSize: o.PoolSize, ReadTimeout: o.ReadTimeout})
}
