package chaos

import (
	"path/filepath"
	"testing"

	"github.com/ccbridge/bridge/internal/config"
)

// TestBridgeConfigPassesCheck: the file the harness writes loads and passes
// both services' checks, with its secrets taken verbatim from the
// environment the processes get.
func TestBridgeConfigPassesCheck(t *testing.T) {
	for _, timeline := range []string{"", "127.0.0.1:6391"} {
		t.Run("timeline_redis_"+map[bool]string{true: "own", false: "shared"}[timeline != ""], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bridge.yaml")
			at := bridgeEndpoints{redis: "127.0.0.1:6390", timelineRedis: timeline, sapiURL: "http://127.0.0.1:8081",
				regalURL: "http://127.0.0.1:8082", collectorGRPC: "127.0.0.1:7070", collectorMetrics: "127.0.0.1:9464"}
			if err := writeBridgeConfig(path, "acmecorp01", at, defaultDelivery(), 4); err != nil {
				t.Fatal(err)
			}
			s := newSecrets()
			t.Setenv(sapiTokenEnv, s.sapiToken)
			t.Setenv(regalKeyEnv, s.regalKey)
			t.Setenv(phoneHashSaltEnv, s.phoneHashSalt)
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.ValidateCollector(); err != nil {
				t.Fatal(err)
			}
			if err := cfg.ValidateDispatcher(); err != nil {
				t.Fatal(err)
			}
			if cfg.Telemetry.PhoneHashSalt.Reveal() != s.phoneHashSalt || cfg.Tenants[0].SAPI.Token.Reveal() != s.sapiToken {
				t.Fatal("secrets did not arrive verbatim")
			}
		})
	}
}
