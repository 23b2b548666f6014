package sapidouble

// Stats is what the double has done so far, per tenant and in total.
type Stats struct {
	// Tenants has one entry per configured tenant.
	Tenants map[string]TenantStats `json:"tenants"`
	// Published, Written and Buffered are the sums over the tenants.
	Published int64 `json:"published"`
	Written   int64 `json:"written"`
	Buffered  int   `json:"buffered"`
}

// TenantStats counts one tenant's events.
type TenantStats struct {
	// Subscribers is the number of open streams.
	Subscribers int `json:"subscribers"`
	// Published is the events given to Publish (msgInfo stamped).
	Published int64 `json:"published"`
	// Written is the events written to streams, each subscription and each
	// replay counted; heartbeats and PublishRaw writes are not events.
	Written int64 `json:"written"`
	// Buffered is the events waiting in the tenant's subscriptions for a
	// stream to take them.
	Buffered int `json:"buffered"`
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Tenants: make(map[string]TenantStats, len(s.cfg.Tenants))}
	for name := range s.cfg.Tenants {
		var ts TenantStats
		if t := s.tenants[name]; t != nil {
			ts = TenantStats{Subscribers: t.liveCount(), Published: t.published, Written: t.written, Buffered: t.buffered()}
		}
		out.Tenants[name] = ts
		out.Published += ts.Published
		out.Written += ts.Written
		out.Buffered += ts.Buffered
	}
	return out
}
