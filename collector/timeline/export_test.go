package timeline

// SetScanBudget lets tests exercise the scan budget with few members.
func SetScanBudget(s *Store, n int) { s.scanBudget = n }
