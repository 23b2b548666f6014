package config

import (
	"regexp"
	"strings"
	"testing"
)

// specialValues are secrets made of YAML's syntax: pasted into the YAML
// text, each would be read as something else (an alias, an anchor, a tag,
// a comment, a mapping, a list, a new document, quoting, extra keys).
var specialValues = []struct{ name, value string }{
	{"star_alias", "*notAnAlias"},
	{"ampersand_anchor", "&anchor rest"},
	{"bang_tag", "!!binary AAAA"},
	{"hash_comment", "abc #not-a-comment"},
	{"leading_hash", "#leading"},
	{"colon_space", "key: value"},
	{"flow_mapping", "{x: y}"},
	{"flow_list", "[1,2]"},
	{"single_quotes", "it's 'quoted'"},
	{"double_quotes", `say "hi" \"there\"`},
	{"newline_yaml", "a: b\nc: d"},
	{"key_injection", "x\nredis:\n  addr: 203.0.113.9:6379\ntenants: []"},
	{"document_separator", "---"},
	{"document_in_value", "pw\n---\nredis: {}"},
	{"surrounding_spaces", "  padded value  "},
	{"tab_and_cr", "\tfoo\r\nbar"},
	{"every_special_char", `*&!#:{}[]'"` + "\n" + `|>%@,?-`},
	{"yaml_null_word", "null"},
	{"yaml_bool_word", "yes"},
	{"yaml_number", "0x1F"},
	{"dollar_refs_not_reexpanded", "$${X} ${HOME} $$ $"},
	{"block_indicators", "|\n  >-\n"},
	{"unicode", "pässwörd ✓ \u2028"},
}

// secretNames are the variables of testdata/every-secret.yaml.
var secretNames = []string{
	"REDIS_USERNAME", "REDIS_PASSWORD", "ACME_SAPI_TOKEN", "ACME_REGAL_KEY", "ACME_CRM_PASSWORD",
	"GLOBEX_SAPI_TOKEN", "GLOBEX_REGAL_KEY", "DELIVERY_TOKEN", "DELIVERY_TOKEN_NEXT", "QUERY_TOKEN",
	"TIMELINE_REDIS_PASSWORD", "PHONE_HASH_SALT",
}

// secretEnv gives each variable its own value built around v: a distinct
// 16-character head (tokens and the salt have a minimum length) followed
// by v, so that each value ends with v's bytes intact.
func secretEnv(v string) map[string]string {
	m := map[string]string{}
	for i, n := range secretNames {
		m[n] = strings.Repeat(string(rune('A'+i)), 16) + v
	}
	return m
}

// TestSecretsFromEnvReachComponentsVerbatim loads a file whose every
// secret is ${NAME}, with values full of YAML syntax, and checks that each
// arrives byte for byte where the components read it, and that nothing of
// a value altered the rest of the file.
func TestSecretsFromEnvReachComponentsVerbatim(t *testing.T) {
	for _, sv := range specialValues {
		t.Run(sv.name, func(t *testing.T) {
			vals := secretEnv(sv.value)
			cfg, err := load(t, "every-secret.yaml", env(vals))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.ValidateCollector(); err != nil {
				t.Fatalf("collector: %v", err)
			}
			if err := cfg.ValidateDispatcher(); err != nil {
				t.Fatalf("dispatcher: %v", err)
			}
			got := map[string]string{
				"REDIS_USERNAME":          cfg.Redis.Username,
				"REDIS_PASSWORD":          cfg.Redis.Password.Reveal(),
				"ACME_SAPI_TOKEN":         cfg.Tenants[0].SAPI.Token.Reveal(),
				"ACME_REGAL_KEY":          cfg.Tenants[0].Regal.APIKey.Reveal(),
				"ACME_CRM_PASSWORD":       cfg.Tenants[0].CRM.Password.Reveal(),
				"GLOBEX_SAPI_TOKEN":       cfg.Tenants[1].SAPI.Token.Reveal(),
				"GLOBEX_REGAL_KEY":        cfg.Tenants[1].Regal.APIKey.Reveal(),
				"DELIVERY_TOKEN":          cfg.Collector.DeliveryAuth.Tokens[0].Reveal(),
				"DELIVERY_TOKEN_NEXT":     cfg.Collector.DeliveryAuth.Tokens[1].Reveal(),
				"QUERY_TOKEN":             cfg.Collector.Query.Auth.Tokens[0].Reveal(),
				"TIMELINE_REDIS_PASSWORD": cfg.Collector.Query.Redis.Password.Reveal(),
				"PHONE_HASH_SALT":         cfg.Telemetry.PhoneHashSalt.Reveal(),
			}
			for _, n := range secretNames {
				if got[n] != vals[n] {
					t.Errorf("%s arrived as %q, want %q", n, got[n], vals[n])
				}
			}
			if cfg.Dispatcher.CollectorAuth.Token.Reveal() != vals["DELIVERY_TOKEN"] {
				t.Errorf("dispatcher.collector_auth.token arrived as %q", cfg.Dispatcher.CollectorAuth.Token.Reveal())
			}
			// The rest of the file is as written: no value added keys.
			if cfg.Redis.Addr != "127.0.0.1:6390" || len(cfg.Tenants) != 2 || cfg.Tenants[1].Name != "globex02" ||
				len(cfg.Collector.DeliveryAuth.Tokens) != 2 || len(cfg.Collector.Query.Auth.Tokens) != 1 {
				t.Errorf("the file's structure changed: redis.addr %q, %d tenants, %d delivery tokens",
					cfg.Redis.Addr, len(cfg.Tenants), len(cfg.Collector.DeliveryAuth.Tokens))
			}
		})
	}
}

// goTypeName matches what a Go type looks like in a message.
var goTypeName = regexp.MustCompile(`\b(config|time|secret|grpcauth|sapi|regal|translate)\.[A-Z]|!!(str|int|bool|map|seq)|\bunmarshal\b`)

// TestBrokenFilesNamePathsNeverValues feeds files broken in one place
// each, next to secrets full of YAML syntax, and checks that the error
// names the YAML path and holds no secret and no Go type.
func TestBrokenFilesNamePathsNeverValues(t *testing.T) {
	const head = `redis:
  password: ${REDIS_PASSWORD}
tenants:
  - name: acmecorp01
    sapi:
      base_url: https://vcc-na12.8x8.com
      username: acmecorp01
      token: ${ACME_SAPI_TOKEN}
      subscription_id: regal-bridge
    regal:
      api_key: ${ACME_REGAL_KEY}
`
	const tail = `telemetry:
  phone_hash_salt: ${PHONE_HASH_SALT}
`
	tests := []struct {
		name string
		file string
		// check is the validator run after a successful Parse (nil: Parse
		// itself must fail).
		check func(*Config) error
		want  []string
	}{
		{"unknown_key_next_to_secret", head + "      api_kye: ${ACME_REGAL_KEY}\n" + tail, nil,
			[]string{"tenants[0].regal.api_kye: unknown key (did you mean api_key?) (line 12)"}},
		{"unknown_top_level_key", head + "colector:\n  grpc_listen: ${ACME_SAPI_TOKEN}\n" + tail, nil,
			[]string{"colector: unknown key (did you mean collector?)"}},
		{"bad_duration_from_env", head + "collector:\n  store:\n    dedup_ttl: ${ACME_SAPI_TOKEN}\n" + tail, nil,
			[]string{"collector.store.dedup_ttl: not a duration (write it like 500ms, 30s, 5m or 3h) (line 14)"}},
		{"int_field_given_secret", strings.Replace(head, "redis:\n", "redis:\n  db: ${REDIS_PASSWORD}\n", 1) + tail, nil,
			[]string{"redis.db: not an integer (line 2)"}},
		{"bool_field_given_secret", head + "telemetry:\n  pprof: ${ACME_REGAL_KEY}\n  phone_hash_salt: ${PHONE_HASH_SALT}\n", nil,
			[]string{"telemetry.pprof: not true or false (line 13)"}},
		{"float_field_given_secret", head + "dispatcher:\n  regal:\n    rate_limit: ${ACME_REGAL_KEY}\n" + tail, nil,
			[]string{"dispatcher.regal.rate_limit: not a finite number"}},
		{"mapping_given_secret", "redis: ${REDIS_PASSWORD}\n" + head[len("redis:\n  password: ${REDIS_PASSWORD}\n"):] + tail, nil,
			[]string{"redis: expected a mapping of keys, found a single value (line 1)"}},
		{"list_given_secret", head + "collector:\n  delivery_auth:\n    tokens: ${ACME_SAPI_TOKEN}\n" + tail, nil,
			[]string{"collector.delivery_auth.tokens: expected a list, found a single value (line 14)"}},
		{"missing_env_var", strings.Replace(head, "${ACME_REGAL_KEY}", "${ACME_REGAL_KEY_TYPO}", 1) + tail, nil,
			[]string{"tenants[0].regal.api_key: environment variable ACME_REGAL_KEY_TYPO is not set (line 11)"}},
		{"every_missing_env_var_listed", strings.NewReplacer("${ACME_REGAL_KEY}", "${NOPE_ONE}", "${ACME_SAPI_TOKEN}", "${NOPE_TWO}").Replace(head) + tail, nil,
			[]string{"tenants[0].sapi.token: environment variable NOPE_TWO is not set", "tenants[0].regal.api_key: environment variable NOPE_ONE is not set"}},
		{"malformed_reference", strings.Replace(head, "${ACME_REGAL_KEY}", "${ACME-KEY}", 1) + tail, nil,
			[]string{"tenants[0].regal.api_key: has a ${...} that is not a variable name"}},
		{"unclosed_reference", strings.Replace(head, "${ACME_REGAL_KEY}", "pre${ACME_REGAL_KEY", 1) + tail, nil,
			[]string{"tenants[0].regal.api_key: has a ${ without its closing }"}},
		{"key_given_twice", head + "      api_key: ${ACME_REGAL_KEY}\n" + tail, nil,
			[]string{"tenants[0].regal.api_key: key is given twice (line 12)"}},
		{"file_is_a_list", "- ${ACME_REGAL_KEY}\n", nil, []string{"config: expected a mapping of keys, found a list (line 1)"}},
		{"merge_of_a_secret", head + "dispatcher:\n  <<: ${ACME_REGAL_KEY}\n" + tail, nil,
			[]string{"dispatcher: expected a mapping of keys, found a single value (line 13)"}},
		{"second_document", head + tail + "---\nredis: {}\n", nil,
			[]string{"config: the file holds more than one YAML document"}},
		{"secret_in_file_as_alias", strings.Replace(head, "${ACME_REGAL_KEY}", "*"+fileSecret, 1) + tail, nil,
			[]string{"config: not valid YAML: unknown anchor referenced"}},
		{"secret_in_file_breaks_syntax", strings.Replace(head, "${ACME_REGAL_KEY}", `"`+fileSecret, 1) + tail, nil,
			[]string{"config: not valid YAML: line"}},
		{"invalid_listen_address_from_env", head + "collector:\n  query:\n    listen: ${ACME_SAPI_TOKEN}\n" + tail, (*Config).ValidateCollector,
			[]string{"collector.query.listen must be host:port (e.g. 127.0.0.1:7071)"}},
		{"invalid_grpc_listen", head + "collector:\n  grpc_listen: ${ACME_REGAL_KEY}\n" + tail, (*Config).ValidateCollector,
			[]string{"collector.grpc_listen must be host:port"}},
		{"invalid_redis_addr", strings.Replace(head, "redis:\n", "redis:\n  addr: ${REDIS_PASSWORD}\n", 1) + tail, nil,
			[]string{"redis.addr must be host:port"}},
		{"sapi_base_url_holding_secret", strings.Replace(head, "https://vcc-na12.8x8.com", "ftp://${ACME_SAPI_TOKEN}", 1) + tail, (*Config).ValidateCollector,
			[]string{"tenants[0].sapi.base_url must be an http(s) URL with a host"}},
		{"sapi_subscription_id_holding_secret", strings.Replace(head, "regal-bridge", "${ACME_SAPI_TOKEN}/x", 1) + tail, (*Config).ValidateCollector,
			[]string{"tenants[0].sapi.subscription_id may not contain"}},
		{"regal_base_url_holding_secret", head + "dispatcher:\n  regal:\n    base_url: ftp://${ACME_REGAL_KEY}\n" + tail, (*Config).ValidateDispatcher,
			[]string{"dispatcher.regal.base_url"}},
		{"mapping_source_holding_secret", head + "dispatcher:\n  mapping:\n    events:\n      - {source: ' ${ACME_REGAL_KEY}', name: A}\n" + tail, (*Config).ValidateDispatcher,
			[]string{"dispatcher.mapping.events[0].source has leading or trailing spaces"}},
		{"transport_holding_secret", head + "collector:\n  transport: ${ACME_SAPI_TOKEN}\n" + tail, (*Config).ValidateCollector,
			[]string{`collector.transport must be "streaming" or "websocket"`}},
		{"delivery_token_too_short", head + "collector:\n  delivery_auth:\n    tokens: [short]\n" + tail, (*Config).ValidateCollector,
			[]string{"collector.delivery_auth.tokens: every token must be at least 16 characters"}},
		{"salt_missing", head, (*Config).ValidateDispatcher, []string{"telemetry.phone_hash_salt is required"}},
		{"salt_public_default", head + "telemetry:\n  phone_hash_salt: ccbridge\n", (*Config).ValidateDispatcher,
			[]string{"telemetry.phone_hash_salt must be at least 16 characters"}},
		{"tenant_name_holding_secret", strings.Replace(head, "name: acmecorp01", "name: ${ACME_SAPI_TOKEN}!", 1) + tail, nil,
			[]string{"tenants[0].name must be 1-64 letters"}},
	}
	for _, sv := range specialValues {
		vals := secretEnv(sv.value)
		for _, tt := range tests {
			t.Run(tt.name+"/"+sv.name, func(t *testing.T) {
				cfg, err := Parse([]byte(tt.file), env(vals))
				if tt.check != nil {
					if err != nil {
						t.Fatalf("Parse: %v", err)
					}
					err = tt.check(cfg)
				}
				if err == nil {
					t.Fatal("no error")
				}
				msg := err.Error()
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("error does not say %q:\n%s", w, msg)
					}
				}
				for n, v := range vals {
					if strings.Contains(msg, v) || strings.Contains(msg, sv.value) && len(strings.TrimSpace(sv.value)) >= 6 {
						t.Errorf("error holds the value of %s:\n%s", n, msg)
					}
				}
				if strings.Contains(msg, fileSecret) {
					t.Errorf("error holds a secret written in the file:\n%s", msg)
				}
				if goTypeName.MatchString(msg) {
					t.Errorf("error names a Go type:\n%s", msg)
				}
			})
		}
	}
}

// fileSecret is a secret written in the file itself, by mistake in a place
// that breaks the YAML.
const fileSecret = "sk_live_f1l3s3cr3t"
