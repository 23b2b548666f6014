package grpcauth

import (
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// ServerOptions returns the options a gRPC server needs to enforce cfg:
// TLS credentials when configured, and the token interceptors when tokens
// are set. opts tune the Authenticator (e.g. WithPublicServices). With
// neither tokens nor a client CA, nothing authenticates clients: callers
// that require authentication check cfg.Authenticates first.
func ServerOptions(cfg ServerConfig, opts ...Option) ([]grpc.ServerOption, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var out []grpc.ServerOption
	if cfg.TLS.Enabled() {
		tc, err := ServerTLSConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		out = append(out, grpc.Creds(credentials.NewTLS(tc)))
	}
	if len(cfg.Tokens) > 0 {
		a, err := NewAuthenticator(cfg.Tokens, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, grpc.ChainUnaryInterceptor(a.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(a.StreamServerInterceptor()))
	}
	return out, nil
}

// DialOptions returns the options a client needs to authenticate per cfg:
// TLS (or plaintext) transport credentials, and the bearer token when set.
// Over plaintext the token is sent anyway, which is acceptable on loopback
// only.
func DialOptions(cfg ClientConfig) ([]grpc.DialOption, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var out []grpc.DialOption
	if cfg.TLS.On() {
		tc, err := ClientTLSConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		out = append(out, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	} else {
		out = append(out, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if !cfg.Token.IsZero() {
		if len(cfg.Token.Reveal()) < MinTokenLength {
			return nil, errors.New("grpcauth: the token must be at least 16 characters")
		}
		out = append(out, grpc.WithPerRPCCredentials(BearerToken(cfg.Token, cfg.TLS.On())))
	}
	return out, nil
}
