package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/internal/listentest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// secretEnv are the file's secrets, made of YAML syntax: pasted into the
// YAML text they would be read as an alias, a comment, keys, a list…
var secretEnv = map[string]string{
	"CHK_REDIS_PASSWORD": "*alias-looking & anchor",
	"CHK_SAPI_TOKEN":     "tok #not a comment: {x: y} [1,2]",
	"CHK_REGAL_KEY":      "rk'\"!\nredis:\n  addr: 203.0.113.9:1",
	"CHK_DELIVERY_TOKEN": "  ---\ndelivery token with spaces  ",
	"CHK_SALT":           "salt: a\nb: [c] & *d ! #e",
}

// file is a complete configuration whose secrets are ${CHK_*} references;
// extra is appended (more keys, or broken ones).
func file(redisAddr, grpcListen, metricsListen, extra string) string {
	return `redis:
  addr: ` + redisAddr + `
  password: ${CHK_REDIS_PASSWORD}
tenants:
  - name: acmecorp01
    sapi:
      base_url: https://vcc-na12.8x8.com
      username: acmecorp01
      token: ${CHK_SAPI_TOKEN}
      subscription_id: regal-bridge
    regal:
      api_key: ${CHK_REGAL_KEY}
collector:
  grpc_listen: ` + grpcListen + `
  metrics_listen: ` + metricsListen + `
  delivery_auth:
    tokens:
      - ${CHK_DELIVERY_TOKEN}
dispatcher:
  collector_auth:
    token: ${CHK_DELIVERY_TOKEN}
telemetry:
  phone_hash_salt: ${CHK_SALT}
` + extra
}

// TestCheckConfig runs `collector -check-config` on valid and broken files
// and checks its exit status, its output, and that no secret is printed.
// Redis and the listen addresses are the test's own listeners: the check
// must neither connect to the one nor listen on the others (it would fail:
// the port is taken).
func TestCheckConfig(t *testing.T) {
	for k, v := range secretEnv {
		t.Setenv(k, v)
	}
	redisLn := listentest.Listen(t)
	redisAddr, busyAddr, busy2Addr := redisLn.Addr().String(), listentest.Listen(t).Addr().String(), listentest.Listen(t).Addr().String()
	tests := []struct {
		name     string
		content  string
		unset    string
		wantCode int
		// wantOut is on stdout; wantErr are lines of stderr.
		wantOut string
		wantErr []string
	}{
		{name: "valid_with_special_secrets", content: file(redisAddr, busyAddr, busy2Addr, ""), wantCode: 0, wantOut: "config ok: "},
		{name: "unknown_key_missing_env", unset: "CHK_REGAL_KEY",
			content:  file(redisAddr, busyAddr, busy2Addr, "  colour: ${CHK_SAPI_TOKEN}\n"),
			wantCode: 1, wantErr: []string{
				"tenants[0].regal.api_key: environment variable CHK_REGAL_KEY is not set (line 12)",
				"telemetry: unknown key",
			}},
		{name: "bad_duration_next_to_secret", content: strings.Replace(file(redisAddr, busyAddr, busy2Addr, ""),
			"  delivery_auth:", "  idle_timeout: ${CHK_SAPI_TOKEN}\n  delivery_auth:", 1),
			wantCode: 1, wantErr: []string{"collector.idle_timeout: not a duration"}},
		{name: "invalid_listen_address_and_component_rules", content: strings.NewReplacer(
			"grpc_listen: "+busyAddr, "grpc_listen: ${CHK_SAPI_TOKEN}",
			"https://vcc-na12.8x8.com", "ftp://${CHK_REGAL_KEY}").Replace(file(redisAddr, busyAddr, busy2Addr, "")),
			wantCode: 1, wantErr: []string{
				"collector.grpc_listen must be host:port",
				"tenants[0].sapi.base_url must be an http(s) URL with a host",
			}},
		{name: "not_yaml", content: "redis: [\n", wantCode: 1, wantErr: []string{"config: not valid YAML"}},
		{name: "collector_does_not_need_dispatcher_settings", wantCode: 0, wantOut: "config ok: ",
			content: strings.Replace(file(redisAddr, busyAddr, busy2Addr, ""), "phone_hash_salt: ${CHK_SALT}", "pprof: false", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unset != "" {
				t.Setenv(tt.unset, "") // restored after the subtest
				if err := os.Unsetenv(tt.unset); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(t.TempDir(), "bridge.yaml")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := command([]string{"-check-config", "-config", path}, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, &stdout, &stderr)
			}
			t.Logf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			if tt.wantOut != "" && stdout.String() != tt.wantOut+path+"\n" {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantOut+path)
			}
			if tt.wantCode == 0 && stderr.Len() > 0 {
				t.Errorf("stderr on success: %s", &stderr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr.String(), path+": "+w) {
					t.Errorf("stderr has no line %q:\n%s", w, &stderr)
				}
			}
			for k, v := range secretEnv {
				for _, part := range append(strings.Split(v, "\n"), v) {
					if len(strings.TrimSpace(part)) >= 6 && strings.Contains(stdout.String()+stderr.String(), strings.TrimSpace(part)) {
						t.Errorf("output holds (part of) %s:\nstdout: %s\nstderr: %s", k, &stdout, &stderr)
					}
				}
			}
		})
	}
	if err := listentest.NoConnection(redisLn); err != nil {
		t.Errorf("redis: %v", err)
	}
}

func TestCheckConfigMissingFile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	path := filepath.Join(t.TempDir(), "absent.yaml")
	if code := command([]string{"-check-config", "-config", path}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "read config") || stdout.Len() > 0 {
		t.Fatalf("stdout %q, stderr %q", &stdout, &stderr)
	}
}
