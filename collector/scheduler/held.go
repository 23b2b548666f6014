package scheduler

import (
	"github.com/ccbridge/bridge/collector/eventstore"
)

// Hold marks interactions as held behind a parked dead letter (read from
// Redis by a starting collector, before it enqueues the unsettled
// events): their entries are then left in Redis by Enqueue, and none is
// delivered until Release.
func (s *Scheduler) Hold(keys []HeldKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range keys {
		if s.dropped[h.Tenant] {
			continue
		}
		s.held[heldKey{h.Tenant, h.OrderKey}] = h
	}
}

// IsHeld reports whether the interaction is held.
func (s *Scheduler) IsHeld(tenant, orderKey string) (HeldKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.held[heldKey{tenant, orderKey}]
	return h, ok
}

// Release ends the hold of an interaction whose hold Redis no longer
// records (its dead letter was replayed or dropped) and schedules its
// entries, read from its partition's stream in order: with a replay, the
// parked event comes first. Entries above the partition's greatest
// enqueued id are left out: Enqueue brings them, after these. The caller
// must not run Enqueue for the tenant concurrently (the collector runs
// both in the tenant's admitter).
func (s *Scheduler) Release(tenant, orderKey string, entries []eventstore.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.dropped[tenant] {
		return nil // another collector serves it now
	}
	delete(s.held, heldKey{tenant, orderKey})
	var items []*item
	for _, e := range entries {
		if e.Ref.Tenant != tenant || e.Event.GetOrderKey() != orderKey {
			continue
		}
		id, err := parseStreamID(e.Ref.ID)
		if err != nil {
			return err
		}
		if hw, ok := s.highWater[partitionKey{e.Ref.Tenant, e.Ref.Partition}]; !ok || hw.less(id) {
			continue
		}
		items = append(items, &item{entry: e, bytes: eventstore.EntryBytes(e)})
	}
	if len(items) == 0 {
		return nil
	}
	s.buffered += len(items)
	for _, it := range items {
		s.bufferedBytes += it.bytes
	}
	kq := s.keys[heldKey{tenant, orderKey}]
	if kq == nil {
		kq = &keyQueue{key: orderKey, tenant: tenant}
		s.keys[heldKey{tenant, orderKey}] = kq
	}
	kq.events = append(items, kq.events...)
	if !kq.busy && !kq.retrying {
		s.assignLocked(kq)
	}
	return nil
}
