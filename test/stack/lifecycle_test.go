package stack_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/test/stack"
)

// TestStackLifecycle: Start builds and starts a Stack (and shuts down what
// it started when it fails), so the adapter's Start starts one.
func TestStackLifecycle(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	n := 0
	component := func(queryListen string) lifecycletest.Component {
		n++
		o := stack.Options{RedisAddr: redis.Addr, KeyPrefix: fmt.Sprintf("lifecycle%d", n), Dispatchers: 1, QueryListen: queryListen}
		var s *stack.Stack
		return lifecycletest.Funcs{
			StartFunc: func(ctx context.Context) error {
				var err error
				s, err = stack.Start(ctx, o)
				return err
			},
			ShutdownFunc: func(ctx context.Context) error {
				if s == nil {
					return nil
				}
				return s.Shutdown(ctx)
			},
		}
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return component("") },
		// The collector's Start fails once it serves: the QueryService's
		// port is taken.
		NewFailing: func(t *testing.T) lifecycletest.Component { return component(taken.Addr().String()) },
	})
}
