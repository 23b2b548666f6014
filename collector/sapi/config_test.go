package sapi

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func validConfig() Config {
	c := Config{BaseURL: "https://vcc-na12.8x8.com", Tenant: "acmecorp01", Token: testToken, SubscriptionID: "regal-bridge"}
	c.SetDefaults()
	return c
}

func TestConfig_defaults(t *testing.T) {
	c := validConfig()
	if c.Username != "acmecorp01" || c.OutputFormat != "NEWLINE_JSON" || c.MaxEventBytes != 1<<20 ||
		c.ReconnectMin != time.Second || c.ReconnectMax != time.Minute || c.IdleTimeout != 180*time.Second {
		t.Fatalf("defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if d := DefaultConfig(); d.OutputFormat != "NEWLINE_JSON" || d.Validate() == nil {
		t.Errorf("DefaultConfig = %+v; want defaults and a validation error for the missing identity", d)
	}
	if s := DefaultStreamConfig(); s != validConfig().StreamConfig || s.Validate() != nil {
		t.Errorf("DefaultStreamConfig = %+v, want the stream settings SetDefaults gives, valid", s)
	}
}

func TestConfig_validate_rejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"missing_base_url", func(c *Config) { c.BaseURL = "" }, "base_url is required"},
		{"base_url_without_scheme", func(c *Config) { c.BaseURL = "vcc-na12.8x8.com" }, "must be an http(s) URL"},
		{"base_url_with_credentials", func(c *Config) { c.BaseURL = "https://u:" + testToken + "@vcc-na12.8x8.com" }, "must not carry credentials"},
		{"missing_tenant", func(c *Config) { c.Tenant = "" }, "tenant is required"},
		{"tenant_with_slash", func(c *Config) { c.Tenant = "a/b" }, "tenant \"a/b\" may not contain"},
		{"missing_subscription", func(c *Config) { c.SubscriptionID = "" }, "subscription_id is required"},
		{"missing_token", func(c *Config) { c.Token = "" }, "token is required"},
		{"missing_username", func(c *Config) { c.Username = "" }, "username is required"},
		{"unknown_format", func(c *Config) { c.OutputFormat = "CSV" }, "output_format: unknown output format"},
		{"max_below_min", func(c *Config) { c.ReconnectMax = time.Millisecond }, "reconnect_max (1ms) must be at least"},
		{"negative_idle", func(c *Config) { c.IdleTimeout = -1 }, "idle_timeout must be positive"},
		{"zero_max_event", func(c *Config) { c.MaxEventBytes = -1 }, "max_event_bytes must be positive"},
		{"unknown_transport", func(c *Config) { c.Transport = "carrier-pigeon" }, `transport "carrier-pigeon" must be "streaming" or "websocket"`},
		{"stall_floor_above_ceiling", func(c *Config) { c.IdleTimeoutMin = 2 * c.IdleTimeout }, "idle_timeout_min (6m0s) must be positive and at most idle_timeout (3m0s)"},
		{"one_missed_heartbeat", func(c *Config) { c.MissedHeartbeats = 1 }, "missed_heartbeats must be at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestConfig_stream_url(t *testing.T) {
	c := validConfig()
	c.BaseURL = "https://vcc-na12.8x8.com/"
	want := "https://vcc-na12.8x8.com/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-regal-bridge" +
		"?desiredOutputType=NEWLINE_JSON&tenantId=acmecorp01&subsId=regal-bridge&X-Atmosphere-Transport=streaming"
	if got := c.StreamURL(); got != want {
		t.Fatalf("StreamURL = %s\nwant        %s", got, want)
	}
}

func TestConfig_yaml_never_prints_the_token(t *testing.T) {
	in := "base_url: https://vcc-na12.8x8.com\ntenant: acmecorp01\ntoken: " + testToken +
		"\nsubscription_id: s1\noutput_format: newline_json\nidle_timeout: 90s\n"
	var c Config
	if err := yaml.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.Token.Reveal() != testToken || c.Format() != FormatNewlineJSON || c.IdleTimeout != 90*time.Second {
		t.Fatalf("decoded %+v", c)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, string(out))
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"NEWLINE_JSON", FormatNewlineJSON}, {"json", FormatJSON}, {" Xml ", FormatXML}, {"newline_xml", FormatNewlineXML},
	}
	for _, tt := range tests {
		if got, err := ParseFormat(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseFormat("csv"); err == nil {
		t.Error("ParseFormat(csv) succeeded")
	}
}
