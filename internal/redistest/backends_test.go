package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ccbridge/bridge/internal/redistest"
)

func TestBackends(t *testing.T) {
	ctx := context.Background()
	for _, b := range redistest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			srv := b.Start(t, redistest.Options{AppendOnly: true})
			rdb := srv.Client(t)
			if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			if srv.Restart != nil {
				srv.Restart(t)
				if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
					t.Fatalf("after a restart k = %q (%v), want what was persisted", v, err)
				}
			} else if !srv.Embedded && srv.Cluster == nil {
				t.Error("a redis-server with AppendOnly cannot restart")
			}
			if srv.FastForward != nil {
				srv.FastForward(time.Minute)
				if n, err := rdb.Exists(ctx, "k").Result(); err != nil || n != 0 {
					t.Fatalf("after fast-forwarding past its TTL k exists (%d, %v)", n, err)
				}
			}
		})
	}
}
