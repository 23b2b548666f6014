package query_test

import (
	"context"
	"net"
	"testing"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/query"
	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
)

// TestServerLifecycle: Serve starts a Server, so the adapter's Start
// serves and its Shutdown shuts down what was served.
func TestServerLifecycle(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	store, err := eventstore.New(rdb, eventstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tl, err := timeline.New(rdb, timeline.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	component := func(t *testing.T, listen string) lifecycletest.Component {
		svc, err := query.NewService(query.Options{Tenants: []string{tenant}, Timeline: tl, DeadLetters: store,
			Replay: func(context.Context, string, eventstore.DeadLetterFilter, bool) ([]eventstore.DeadEntry, int, error) {
				return nil, 0, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		var srv *query.Server
		return lifecycletest.Funcs{
			StartFunc: func(context.Context) error {
				var err error
				srv, err = query.Serve(query.ServerConfig{Listen: listen,
					Auth: grpcauth.ServerConfig{Tokens: []secret.Secret{queryToken}}}, svc)
				return err
			},
			ShutdownFunc: func(ctx context.Context) error {
				if srv == nil {
					svc.Stop()
					return nil
				}
				return srv.Shutdown(ctx)
			},
		}
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New:        func(t *testing.T) lifecycletest.Component { return component(t, "127.0.0.1:0") },
		NewFailing: func(t *testing.T) lifecycletest.Component { return component(t, taken.Addr().String()) },
	})
}
