package main

import (
	"bytes"
	"net"
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
	"CHK_REGAL_KEY":      "rk'\"!\nredis:\n  addr: 203.0.113.9:1",
	"CHK_DELIVERY_TOKEN": "  ---\ndelivery token with spaces  ",
	"CHK_SALT":           "salt: a\nb: [c] & *d ! #e",
}

// file is a dispatcher's configuration whose secrets are ${CHK_*}
// references; telemetry is the telemetry section's body.
func file(redisAddr, collectorAddr, telemetry string) string {
	return `redis:
  addr: ` + redisAddr + `
  password: ${CHK_REDIS_PASSWORD}
tenants:
  - name: acmecorp01
    regal:
      api_key: ${CHK_REGAL_KEY}
dispatcher:
  collector_addr: ` + collectorAddr + `
  regal:
    rate_limit: 100
  collector_auth:
    token: ${CHK_DELIVERY_TOKEN}
telemetry:
` + telemetry
}

const saltFromEnv = "  phone_hash_salt: ${CHK_SALT}\n"

// TestCheckConfig runs `dispatcher -check-config` on valid and broken
// files and checks its exit status, its output, and that no secret is
// printed. Redis and the collector are the test's own listeners: the check
// must connect to neither.
func TestCheckConfig(t *testing.T) {
	for k, v := range secretEnv {
		t.Setenv(k, v)
	}
	redisLn, collectorLn := listentest.Listen(t), listentest.Listen(t)
	redisAddr, collectorAddr := redisLn.Addr().String(), collectorLn.Addr().String()
	tests := []struct {
		name     string
		content  string
		args     []string
		wantCode int
		// wantErr are lines of stderr.
		wantErr []string
	}{
		{name: "valid_with_special_secrets", content: file(redisAddr, collectorAddr, saltFromEnv)},
		{name: "salt_missing", content: file(redisAddr, collectorAddr, "  pprof: false\n"), wantCode: 1,
			wantErr: []string{"telemetry.phone_hash_salt is required"}},
		{name: "salt_public_default", content: file(redisAddr, collectorAddr, "  phone_hash_salt: ccbridge\n"), wantCode: 1,
			wantErr: []string{"telemetry.phone_hash_salt must be at least 16 characters"}},
		{name: "unknown_key_next_to_secret_and_bad_duration", wantCode: 1,
			content: strings.Replace(file(redisAddr, collectorAddr, saltFromEnv), "  collector_auth:\n",
				"  shutdown_grace: ${CHK_REGAL_KEY}\n  collector_auth:\n    tokn: ${CHK_DELIVERY_TOKEN}\n", 1),
			wantErr: []string{"dispatcher.shutdown_grace: not a duration", "dispatcher.collector_auth.tokn: unknown key (did you mean token?)"}},
		{name: "component_rules_reached", wantCode: 1,
			content: strings.Replace(file(redisAddr, collectorAddr, saltFromEnv), "    rate_limit: 100\n",
				"    rate_limit: 100\n    base_url: ftp://${CHK_REGAL_KEY}\n", 1),
			wantErr: []string{"dispatcher.regal.base_url"}},
		{name: "metrics_listen_flag_checked", content: file(redisAddr, collectorAddr, saltFromEnv),
			args: []string{"-metrics-listen", "nowhere"}, wantCode: 1,
			wantErr: []string{"dispatcher.metrics_listen must be host:port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bridge.yaml")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := command(append([]string{"-check-config", "-config", path}, tt.args...), &stdout, &stderr)
			t.Logf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d", code, tt.wantCode)
			}
			if code == 0 && (stdout.String() != "config ok: "+path+"\n" || stderr.Len() > 0) {
				t.Errorf("stdout %q, stderr %q, want config ok", &stdout, &stderr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr.String(), path+": "+w) {
					t.Errorf("stderr has no line %q", w)
				}
			}
			for k, v := range secretEnv {
				for _, part := range append(strings.Split(v, "\n"), v) {
					if len(strings.TrimSpace(part)) >= 6 && strings.Contains(stdout.String()+stderr.String(), strings.TrimSpace(part)) {
						t.Errorf("output holds (part of) %s", k)
					}
				}
			}
		})
	}
	for name, ln := range map[string]net.Listener{"redis": redisLn, "collector": collectorLn} {
		if err := listentest.NoConnection(ln); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
