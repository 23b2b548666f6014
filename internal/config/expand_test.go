package config

import (
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	lookup := env(map[string]string{"A": "alpha", "EMPTY": "", "REF": "${A} $$ $", "_X1": "x"})
	tests := []struct {
		name, in, want string
		fromEnv        bool
		wantErr        string
	}{
		{name: "no_reference", in: "plain text", want: "plain text"},
		{name: "whole_value", in: "${A}", want: "alpha", fromEnv: true},
		{name: "inside_text", in: "pre-${A}-post", want: "pre-alpha-post", fromEnv: true},
		{name: "two_references", in: "${A}${_X1}", want: "alphax", fromEnv: true},
		{name: "empty_variable_is_set", in: "${EMPTY}", want: "", fromEnv: true},
		{name: "value_not_expanded_again", in: "${REF}", want: "${A} $$ $", fromEnv: true},
		{name: "double_dollar_is_dollar", in: "pa$$word", want: "pa$word"},
		{name: "escaped_reference_is_literal", in: "$${A}", want: "${A}"},
		{name: "dollar_then_reference", in: "$$${A}", want: "$alpha", fromEnv: true},
		{name: "lone_dollar_kept", in: "$5 and a$b", want: "$5 and a$b"},
		{name: "trailing_dollar_kept", in: "cost$", want: "cost$"},
		{name: "unset", in: "x${MISSING}", wantErr: "environment variable MISSING is not set"},
		{name: "unclosed", in: "${A", wantErr: "has a ${ without its closing }"},
		{name: "not_a_name", in: "${A-default}", wantErr: "not a variable name"},
		{name: "empty_name", in: "${}", wantErr: "not a variable name"},
		{name: "digit_first", in: "${1A}", wantErr: "not a variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fromEnv, err := expand(tt.in, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || fromEnv != tt.fromEnv {
				t.Fatalf("got %q (from env %v), want %q (%v)", got, fromEnv, tt.want, tt.fromEnv)
			}
		})
	}
}

// minimal is a file that passes Validate, with a hole for more.
const minimal = "tenants:\n  - name: acme\n"

// TestTypedFieldsFromEnv: durations, integers, booleans and numbers may be
// ${NAME} too; the value is expanded, then read as the field's type.
func TestTypedFieldsFromEnv(t *testing.T) {
	file := minimal + `collector:
  store:
    dedup_ttl: ${TTL}
    partitions: ${PARTITIONS}
    malformed_max_len: "${MAXLEN}"
  stream_max_age: ${ZERO}
dispatcher:
  regal:
    rate_limit: ${RATE}
  mapping:
    disposition_names: ${NAMES}
telemetry:
  pprof: ${PPROF}
redis:
  db: 0x${DB}
`
	cfg, err := Parse([]byte(file), env(map[string]string{"TTL": " 4h30m ", "PARTITIONS": "32", "MAXLEN": "1_000",
		"ZERO": "0", "RATE": "12.5", "NAMES": "false", "PPROF": "on", "DB": "a"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"duration", cfg.Collector.Store.DedupTTL, 4*time.Hour + 30*time.Minute},
		{"int", cfg.Collector.Store.Partitions, 16 * 2},
		{"int64_with_underscore", cfg.Collector.Store.MalformedMaxLen, int64(1000)},
		{"zero_duration", cfg.Collector.StreamMaxAge, time.Duration(0)},
		{"float", cfg.Dispatcher.Regal.RateLimit, 12.5},
		{"pointer_bool", *cfg.Dispatcher.Mapping.DispositionNames, false},
		{"bool_yaml_spelling", cfg.Telemetry.Pprof, true},
		{"hex_int_built_from_text_and_env", cfg.Redis.DB, 10},
		{"default_kept", cfg.Collector.Store.TraceTTL, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestDecodeShapes covers YAML forms a hand-written file uses: nulls keep
// defaults, anchors, aliases and merge keys resolve, block scalars keep
// their text, references are not expanded in comments.
func TestDecodeShapes(t *testing.T) {
	file := `# ${IN_A_COMMENT} is not expanded
redis:
  addr: &addr 127.0.0.1:6390
  password:
collector:
  query:
    redis:
      addr: *addr
  store:
dispatcher:
  mapping:
    events:
      - source: InteractionCreated
        name: |-
          Call ${WORD}
tenants:
  - name: acme
    sapi: &sapi
      base_url: https://vcc-na12.8x8.com
      subscription_id: regal-bridge
      token: ${WORD}
  - name: globex
    sapi:
      <<: *sapi
      token: own-token
`
	cfg, err := Parse([]byte(file), env(map[string]string{"WORD": "Created"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"alias_resolved", cfg.Collector.Query.Redis.Addr, "127.0.0.1:6390"},
		{"null_keeps_default", cfg.Collector.Store.Partitions, 16},
		{"null_secret_empty", cfg.Redis.Password.IsZero(), true},
		{"block_scalar_expanded", cfg.Dispatcher.Mapping.Events[0].Name, "Call Created"},
		{"merge_key_brings_values", cfg.Tenants[1].SAPI.BaseURL, "https://vcc-na12.8x8.com"},
		{"merge_key_expands", cfg.Tenants[1].SAPI.SubscriptionID, "regal-bridge"},
		{"own_key_overrides_merge", cfg.Tenants[1].SAPI.Token.Reveal(), "own-token"},
		{"merge_source_untouched", cfg.Tenants[0].SAPI.Token.Reveal(), "Created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	for _, file := range []string{"", "# only a comment\n"} {
		if _, err := Parse([]byte(file), env(nil)); err == nil || !strings.Contains(err.Error(), "the file is empty") {
			t.Fatalf("%q: error %v, want the file is empty", file, err)
		}
	}
}

// TestParseRefusesWhatItCannotSayWithoutLeaking: a key that is no typo of
// a known one may be a pasted secret (a token ending in ':'), so only its
// place is named; a mapping that merges itself is an error, not a crash.
func TestParseRefusesWhatItCannotSayWithoutLeaking(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string
		never   string
	}{
		{"pasted_token_as_key", "tenants:\n  - name: acme\n    regal:\n      sk_live_PASTEDKEY9Zq:\n", "tenants[0].regal: unknown key (known keys: api_key) (line 4)", "PASTEDKEY9Zq"},
		{"typo_is_named", "redis:\n  adr: 127.0.0.1:6379\n", "redis.adr: unknown key (did you mean addr?)", ""},
		{"mapping_merging_itself", "collector: &a\n  <<: *a\n", "a mapping includes itself", ""},
		{"nested_alias_of_an_ancestor", "collector: &a\n  query: *a\n", "collector.query", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to mention %q", err, tt.wantErr)
			}
			if tt.never != "" && strings.Contains(err.Error(), tt.never) {
				t.Fatalf("error names the pasted value: %v", err)
			}
		})
	}
}
