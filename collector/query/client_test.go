package query_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

// dialQuery connects to the query service with token ("" for none).
func dialQuery(t testing.TB, addr string, token secret.Secret, extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts, err := grpcauth.DialOptions(grpcauth.ClientConfig{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
