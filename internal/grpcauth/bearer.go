package grpcauth

import (
	"context"

	"google.golang.org/grpc/credentials"

	"github.com/ccbridge/bridge/internal/secret"
)

// bearer is per-RPC credentials sending a bearer token.
type bearer struct {
	token      secret.Secret
	requireTLS bool
}

// BearerToken returns per-RPC credentials that send token on every call.
// With requireTLS, gRPC refuses to send it over a plaintext connection;
// without, it is sent anyway (acceptable on loopback only).
func BearerToken(token secret.Secret, requireTLS bool) credentials.PerRPCCredentials {
	return bearer{token: token, requireTLS: requireTLS}
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token.Reveal()}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }
