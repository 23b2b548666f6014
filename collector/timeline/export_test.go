package timeline

import "time"

// SetScanBudget lets tests exercise the scan budget with few members.
func SetScanBudget(s *Store, n int) { s.scanBudget = n }

// SetClock makes the store read the time from now.
func SetClock(s *Store, now func() time.Time) { s.now = now }

// KeyTTL is the TTL the store sets on the keys it writes more than once.
func KeyTTL(retention time.Duration) time.Duration { return keyTTL(retention) }

// ExpiryRefresh is how long the store trusts a TTL it set.
func ExpiryRefresh(retention time.Duration) time.Duration { return expiryRefresh(retention) }

// TrimInterval is how often the store trims an index at most.
const TrimInterval = trimInterval
