package ccbcli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// parseWhen reads a point in time: a duration before now ("90s", "15m",
// "2h", "7d") or an RFC 3339 time ("2024-08-26T15:19:00Z"). "" is none.
func parseWhen(s string, now time.Time) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return timestamppb.New(now.Add(-time.Duration(n) * 24 * time.Hour)), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return nil, fmt.Errorf("%q: a duration before now must be positive", s)
		}
		return timestamppb.New(now.Add(-d)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a duration before now (15m, 2h, 7d) nor an RFC 3339 time", s)
	}
	return timestamppb.New(t), nil
}

// clock formats a time for tables: UTC, to the millisecond.
func clock(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format("2006-01-02 15:04:05.000Z")
}
