package main

import (
	"io"
	"testing"
	"time"

	"github.com/ccbridge/bridge/test/chaos"
)

func TestParseFlags(t *testing.T) {
	o, jsonPath, err := parseFlags(nil, io.Discard)
	full := chaos.FullOptions()
	if err != nil || jsonPath != "" || o.Calls != full.Calls || o.CollectorKills != full.CollectorKills ||
		o.DispatcherKills != full.DispatcherKills || o.RegalOutage != full.RegalOutage || o.Dir != "" {
		t.Fatalf("no flags: %+v, %q, %v; want the full run's options", o, jsonPath, err)
	}

	o, jsonPath, err = parseFlags([]string{"-calls", "300", "-regal-outage", "5s", "-dispatcher-kills", "2", "-json", "r.json"}, io.Discard)
	if err != nil || o.Calls != 300 || o.RegalOutage != 5*time.Second || o.DispatcherKills != 2 || jsonPath != "r.json" {
		t.Fatalf("flags not applied: %+v, %q, %v", o, jsonPath, err)
	}

	if _, _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
}
