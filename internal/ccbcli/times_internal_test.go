package ccbcli

import (
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2024, 8, 26, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"90s", now.Add(-90 * time.Second), false},
		{"2h", now.Add(-2 * time.Hour), false},
		{"7d", now.Add(-7 * 24 * time.Hour), false},
		{"2024-08-26T14:00:00Z", now.Add(-time.Hour), false},
		{"-5m", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWhen(tt.in, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err == nil && tt.in != "" && !got.AsTime().Equal(tt.want) {
				t.Fatalf("got %v, want %v", got.AsTime(), tt.want)
			}
			if tt.in == "" && got != nil {
				t.Fatalf("empty gave %v", got)
			}
		})
	}
}
