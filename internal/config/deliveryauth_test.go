package config

import (
	"strings"
	"testing"

	"github.com/ccbridge/bridge/internal/secret"
)

func TestValidateCollectorRequiresDeliveryAuthOffLoopback(t *testing.T) {
	tests := []struct {
		name    string
		listen  string
		tokens  []secret.Secret
		wantErr bool
	}{
		{"loopback_without_auth_is_valid", "127.0.0.1:7070", nil, false},
		{"localhost_without_auth_is_valid", "localhost:7070", nil, false},
		{"all_interfaces_without_auth_is_invalid", "0.0.0.0:7070", nil, true},
		{"port_only_without_auth_is_invalid", ":7070", nil, true},
		{"ipv6_any_without_auth_is_invalid", "[::]:7070", nil, true},
		{"host_name_without_auth_is_invalid", "collector.internal:7070", nil, true},
		{"all_interfaces_with_tokens_is_valid", "0.0.0.0:7070", []secret.Secret{"delivery-token-0123456789"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Tenants = []Tenant{{Name: "acme", SAPI: TenantSAPI{BaseURL: "https://vcc-na12.8x8.com", Username: "acme",
				Token: "sapi-token-0123456789", SubscriptionID: "bridge"}}}
			cfg.Collector.GRPCListen = tt.listen
			cfg.Collector.DeliveryAuth.Tokens = tt.tokens
			err := cfg.ValidateCollector()
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateCollector() = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "collector.delivery_auth.tokens") {
				t.Fatalf("error does not name the key to set: %v", err)
			}
		})
	}
}
