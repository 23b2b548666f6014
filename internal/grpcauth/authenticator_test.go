package grpcauth_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

const (
	currentToken  = "current-token-0123456789"
	previousToken = "previous-token-0123456789"
)

// withHeader sends raw authorization metadata on every call.
func withHeader(values ...string) grpc.DialOption {
	add := func(ctx context.Context) context.Context {
		for _, v := range values {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
		}
		return ctx
	}
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(add(ctx), method, req, reply, cc, opts...)
	})
}

func withStreamHeader(values ...string) grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		for _, v := range values {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
		}
		return streamer(ctx, desc, cc, method, opts...)
	})
}

func TestBearerTokenOnUnaryAndStreamingCalls(t *testing.T) {
	auth, err := grpcauth.NewAuthenticator([]secret.Secret{currentToken, previousToken})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveHealth(t, grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor()))
	tests := []struct {
		name    string
		headers []string
		want    codes.Code
		message string
	}{
		{"missing_token_is_unauthenticated", nil, codes.Unauthenticated, "missing bearer token"},
		{"wrong_token_is_unauthenticated", []string{"Bearer wrong-token-0123456789"}, codes.Unauthenticated, "invalid bearer token"},
		{"prefix_of_the_token_is_unauthenticated", []string{"Bearer " + currentToken[:10]}, codes.Unauthenticated, "invalid bearer token"},
		{"token_with_extra_suffix_is_unauthenticated", []string{"Bearer " + currentToken + "x"}, codes.Unauthenticated, "invalid bearer token"},
		{"basic_scheme_is_unauthenticated", []string{"Basic " + currentToken}, codes.Unauthenticated, "must be \"Bearer <token>\""},
		{"bare_token_without_scheme_is_unauthenticated", []string{currentToken}, codes.Unauthenticated, "must be \"Bearer <token>\""},
		{"empty_bearer_is_unauthenticated", []string{"Bearer "}, codes.Unauthenticated, "must be \"Bearer <token>\""},
		{"two_authorization_values_are_unauthenticated", []string{"Bearer " + currentToken, "Bearer " + previousToken}, codes.Unauthenticated, "must be \"Bearer <token>\""},
		{"current_token_is_accepted", []string{"Bearer " + currentToken}, codes.OK, ""},
		{"previous_token_is_accepted_during_rotation", []string{"Bearer " + previousToken}, codes.OK, ""},
		{"scheme_is_case_insensitive", []string{"bearer " + currentToken}, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				withHeader(tt.headers...), withStreamHeader(tt.headers...))
			unary, stream := callBoth(t, c)
			for kind, err := range map[string]error{"unary": unary, "stream": stream} {
				if got := status.Code(err); got != tt.want {
					t.Fatalf("%s call: got %v (%v), want %v", kind, got, err, tt.want)
				}
				msg := status.Convert(err).Message()
				if !strings.Contains(msg, tt.message) {
					t.Errorf("%s call: message %q does not say %q", kind, msg, tt.message)
				}
				for _, h := range tt.headers {
					if _, tok, _ := strings.Cut(h, " "); len(tok) > 3 && strings.Contains(msg, tok) {
						t.Errorf("%s call: message %q echoes the presented token", kind, msg)
					}
				}
			}
		})
	}
}

func TestPublicServicesNeedNoToken(t *testing.T) {
	auth, err := grpcauth.NewAuthenticator([]secret.Secret{currentToken}, grpcauth.WithPublicServices(grpcauth.HealthService))
	if err != nil {
		t.Fatal(err)
	}
	addr := serveHealth(t, grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor()))
	unary, stream := callBoth(t, dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials())))
	if unary != nil || stream != nil {
		t.Fatalf("health without a token: unary %v, stream %v", unary, stream)
	}
}

func TestNewAuthenticatorRefusesWeakConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		tokens []secret.Secret
	}{
		{"no_tokens", nil},
		{"short_token", []secret.Secret{"short"}},
		{"one_short_among_good", []secret.Secret{currentToken, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := grpcauth.NewAuthenticator(tt.tokens); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestDialOptionsSendTheConfiguredToken(t *testing.T) {
	opts, err := grpcauth.ServerOptions(grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveHealth(t, opts...)
	tests := []struct {
		name  string
		token secret.Secret
		want  codes.Code
	}{
		{"configured_token", currentToken, codes.OK},
		{"other_token", previousToken, codes.Unauthenticated},
		{"no_token", "", codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dopts, err := grpcauth.DialOptions(grpcauth.ClientConfig{Token: tt.token})
			if err != nil {
				t.Fatal(err)
			}
			unary, stream := callBoth(t, dial(t, addr, dopts...))
			if status.Code(unary) != tt.want || status.Code(stream) != tt.want {
				t.Fatalf("got unary %v, stream %v; want %v", unary, stream, tt.want)
			}
		})
	}
}

func TestTokenRequiringTLSIsNotSentInPlaintext(t *testing.T) {
	addr := serveHealth(t)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcauth.BearerToken(currentToken, true)))
	if err != nil {
		return // refused up front
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err == nil {
		t.Fatal("a TLS-only token was sent over plaintext")
	}
}

func TestServerConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     grpcauth.ServerConfig
		wantErr string
	}{
		{"empty_is_valid_but_authenticates_nobody", grpcauth.ServerConfig{}, ""},
		{"token_only", grpcauth.ServerConfig{Tokens: []secret.Secret{currentToken}}, ""},
		{"short_token", grpcauth.ServerConfig{Tokens: []secret.Secret{"abc"}}, "at least 16"},
		{"cert_without_key", grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{CertFile: "c.pem"}}, "go together"},
		{"client_ca_without_server_cert", grpcauth.ServerConfig{TLS: grpcauth.ServerTLS{ClientCAFile: "ca.pem"}}, "needs cert_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(strings.ToLower(errString(err)), "abc") {
				t.Fatalf("error %v shows a token", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
