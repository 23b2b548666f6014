package grpcauth_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestTLSAndMutualTLS(t *testing.T) {
	ours, other := newPKI(t, "bridge"), newPKI(t, "other")
	tests := []struct {
		name   string
		server grpcauth.ServerConfig
		client grpcauth.ClientConfig
		ok     bool
	}{
		{
			name:   "tls_with_token_and_trusted_ca",
			server: grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}, TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey}},
			client: grpcauth.ClientConfig{Token: currentToken, TLS: grpcauth.ClientTLS{CAFile: ours.caFile}},
			ok:     true,
		},
		{
			name:   "tls_server_refuses_plaintext_client",
			server: grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}, TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey}},
			client: grpcauth.ClientConfig{Token: currentToken},
		},
		{
			name:   "client_refuses_server_of_unknown_ca",
			server: grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}, TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey}},
			client: grpcauth.ClientConfig{Token: currentToken, TLS: grpcauth.ClientTLS{CAFile: other.caFile}},
		},
		{
			name:   "mtls_accepts_client_certificate_of_its_ca",
			server: grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey, ClientCAFile: ours.caFile}},
			client: grpcauth.ClientConfig{TLS: grpcauth.ClientTLS{CAFile: ours.caFile, CertFile: ours.clientCert, KeyFile: ours.clientKey}},
			ok:     true,
		},
		{
			name:   "mtls_refuses_client_without_certificate",
			server: grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey, ClientCAFile: ours.caFile}},
			client: grpcauth.ClientConfig{TLS: grpcauth.ClientTLS{CAFile: ours.caFile}},
		},
		{
			name:   "mtls_refuses_client_certificate_of_another_ca",
			server: grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey, ClientCAFile: ours.caFile}},
			client: grpcauth.ClientConfig{TLS: grpcauth.ClientTLS{CAFile: ours.caFile, CertFile: other.clientCert, KeyFile: other.clientKey}},
		},
		{
			name:   "mtls_and_token_together_need_both",
			server: grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}, TLS: grpcauth.ServerTLS{CertFile: ours.serverCert, KeyFile: ours.serverKey, ClientCAFile: ours.caFile}},
			client: grpcauth.ClientConfig{TLS: grpcauth.ClientTLS{CAFile: ours.caFile, CertFile: ours.clientCert, KeyFile: ours.clientKey}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sopts, err := grpcauth.ServerOptions(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			addr := serveHealth(t, sopts...)
			copts, err := grpcauth.DialOptions(tt.client)
			if err != nil {
				t.Fatal(err)
			}
			unary, stream := callBoth(t, dial(t, addr, copts...))
			if tt.ok && (unary != nil || stream != nil) {
				t.Fatalf("refused: unary %v, stream %v", unary, stream)
			}
			if !tt.ok && (status.Code(unary) == codes.OK || status.Code(stream) == codes.OK) {
				t.Fatalf("accepted: unary %v, stream %v", unary, stream)
			}
		})
	}
}

func TestTLSFilesThatCannotBeLoadedAreErrors(t *testing.T) {
	if _, err := grpcauth.ServerOptions(grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: "/nonexistent.pem", KeyFile: "/nonexistent-key.pem"}}); err == nil {
		t.Fatal("missing server certificate accepted")
	}
	if _, err := grpcauth.DialOptions(grpcauth.ClientConfig{TLS: grpcauth.ClientTLS{CAFile: "/nonexistent.pem"}}); err == nil {
		t.Fatal("missing CA accepted")
	}
}
