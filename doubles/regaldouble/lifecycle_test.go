package regaldouble_test

import (
	"net"
	"testing"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestServerLifecycle(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	keys := []secret.Secret{"regal-key-0123456789"}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			return regaldouble.New(regaldouble.Config{APIKeys: keys}, nil)
		},
		NewFailing: func(t *testing.T) lifecycletest.Component {
			return regaldouble.New(regaldouble.Config{Addr: taken.Addr().String(), APIKeys: keys}, nil)
		},
	})
}
