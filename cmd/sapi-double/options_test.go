package main

import (
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble"
)

func TestParseOptions_fault_flags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr bool
	}{
		{"defaults_leave_every_fault_off", nil, func(t *testing.T, o options) {
			if o.atmoProtocol || o.idle != sapidouble.IdleHeartbeatOff || o.reorder != 0 || o.dropOptional != 0 {
				t.Errorf("defaults: %+v", o)
			}
		}, false},
		{"atmosphere_protocol_and_idle_x", []string{"-atmosphere-protocol", "-idle-heartbeat", "x", "-idle-heartbeat-interval", "5s"}, func(t *testing.T, o options) {
			if !o.atmoProtocol || o.idle != sapidouble.IdleHeartbeatX || o.idleInterval != 5*time.Second {
				t.Errorf("options: %+v", o)
			}
		}, false},
		{"idle_space", []string{"-idle-heartbeat", "space"}, func(t *testing.T, o options) {
			if o.idle != sapidouble.IdleHeartbeatSpace {
				t.Errorf("idle %q", o.idle)
			}
		}, false},
		{"ordering_faults", []string{"-reorder", "0.25", "-drop-optional", "0.5"}, func(t *testing.T, o options) {
			if o.reorder != 0.25 || o.dropOptional != 0.5 {
				t.Errorf("reorder %g drop %g", o.reorder, o.dropOptional)
			}
		}, false},
		{"unknown_idle_heartbeat", []string{"-idle-heartbeat", "loud"}, nil, true},
		{"reorder_above_one", []string{"-reorder", "1.5"}, nil, true},
		{"negative_drop", []string{"-drop-optional", "-0.1"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseOptions(%q) error %v, want error %v", tt.args, err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}
