package sapidouble

import (
	"net"
	"testing"

	"github.com/ccbridge/bridge/internal/lifecycletest"
)

func TestServerLifecycle(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	tenants := map[string]Credentials{"acme": {Username: "acme", Token: "sapi-token-0123456789"}}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return New(Config{Tenants: tenants}, nil) },
		NewFailing: func(t *testing.T) lifecycletest.Component {
			return New(Config{Addr: taken.Addr().String(), Tenants: tenants}, nil)
		},
	})
}
