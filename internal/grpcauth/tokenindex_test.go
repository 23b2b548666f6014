package grpcauth_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

// TestTokenIndexTellsWhichTokenAuthenticated checks that handlers, on unary
// and streaming calls, learn which configured token the client used (a
// rotation shows who still uses the old one).
func TestTokenIndexTellsWhichTokenAuthenticated(t *testing.T) {
	auth, err := grpcauth.NewAuthenticator([]secret.Secret{currentToken, previousToken})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []int
	record := func(ctx context.Context) {
		i, ok := grpcauth.TokenIndex(ctx)
		if !ok {
			i = -1
		}
		mu.Lock()
		seen = append(seen, i)
		mu.Unlock()
	}
	addr := serveHealth(t,
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(), func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(), func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			record(ss.Context())
			return h(srv, ss)
		}))
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"current_token_is_index_0", currentToken, 0},
		{"previous_token_is_index_1", previousToken, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			h := "Bearer " + tt.token
			unary, stream := callBoth(t, dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()), withHeader(h), withStreamHeader(h)))
			if unary != nil || stream != nil {
				t.Fatalf("refused: unary %v, stream %v", unary, stream)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 2 || seen[0] != tt.want || seen[1] != tt.want {
				t.Fatalf("token indexes seen by the unary and the stream handler = %v, want [%d %d]", seen, tt.want, tt.want)
			}
		})
	}
	if _, ok := grpcauth.TokenIndex(context.Background()); ok {
		t.Fatal("TokenIndex of an unauthenticated context is ok")
	}
}
