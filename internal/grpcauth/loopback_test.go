package grpcauth_test

import (
	"strings"
	"testing"

	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:7070", true},
		{"127.0.0.1:0", true},
		{"127.1.2.3:7070", true},
		{"[::1]:7070", true},
		{"localhost:7070", true},
		{"LOCALHOST:7070", true},
		{"localhost.:7070", true},
		{":7070", false},
		{"0.0.0.0:7070", false},
		{"0.0.0.0:0", false},
		{"[::]:7070", false},
		{"10.0.0.5:7070", false},
		{"[fe80::1]:7070", false},
		{"collector.internal:7070", false},
		{"localhost.example.com:7070", false},
		{"not-an-address", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			if got := grpcauth.LoopbackOnly(tt.listen); got != tt.want {
				t.Fatalf("LoopbackOnly(%q) = %v, want %v", tt.listen, got, tt.want)
			}
		})
	}
}

func TestRequireOffLoopback(t *testing.T) {
	mtls := grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: "s.pem", KeyFile: "s-key.pem", ClientCAFile: "ca.pem"}}
	tlsOnly := grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: "s.pem", KeyFile: "s-key.pem"}}
	tokens := grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}}
	tests := []struct {
		name    string
		cfg     grpcauth.ServerConfig
		listen  string
		wantErr bool
	}{
		{"loopback_without_auth_is_allowed", grpcauth.ServerConfig{}, "127.0.0.1:7070", false},
		{"all_interfaces_without_auth_is_refused", grpcauth.ServerConfig{}, "0.0.0.0:7070", true},
		{"empty_host_without_auth_is_refused", grpcauth.ServerConfig{}, ":7070", true},
		{"tls_without_client_ca_does_not_authenticate", tlsOnly, "[::]:7070", true},
		{"tokens_off_loopback_are_allowed", tokens, "0.0.0.0:7070", false},
		{"mtls_off_loopback_is_allowed", mtls, "collector.internal:7070", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := grpcauth.RequireOffLoopback(tt.cfg, tt.listen, "collector.grpc_listen", "collector.delivery_auth")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			for _, want := range []string{"collector.grpc_listen", "collector.delivery_auth.tokens", "collector.delivery_auth.tls.cert_file", "client_ca_file"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not name %q", msg, want)
				}
			}
			// The address may come from the environment: the key names it.
			if strings.Contains(msg, tt.listen) {
				t.Errorf("message %q repeats the address %q", msg, tt.listen)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
		})
	}
}
