package redistest_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/ccbridge/bridge/internal/redistest"
)

// TestClusterFailover fails over the primary of a slot: what was written
// before is on the new primary, and the client follows it.
func TestClusterFailover(t *testing.T) {
	ctx := context.Background()
	c := redistest.SharedCluster(t)
	rdb := c.Client(t)
	const key = "failover-test:{k}"
	if err := rdb.Del(ctx, key).Err(); err != nil { // the cluster is shared by the binary's runs
		t.Fatal(err)
	}
	for i := range 100 {
		if err := rdb.RPush(ctx, key, i).Err(); err != nil {
			t.Fatal(err)
		}
	}
	old := c.PrimaryOf(t, key)
	promoted := c.FailoverKey(t, key)
	if promoted == old {
		t.Fatalf("the primary of %q is still %s", key, old)
	}
	if now := c.PrimaryOf(t, key); now != promoted {
		t.Fatalf("the primary of %q is %s, want the promoted %s", key, now, promoted)
	}
	if err := rdb.RPush(ctx, key, 100).Err(); err != nil {
		t.Fatalf("write after the failover: %v", err)
	}
	got, err := rdb.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 101 {
		t.Fatalf("after the failover the list has %d items, want 101", len(got))
	}
	for i, v := range got {
		if v != strconv.Itoa(i) {
			t.Fatalf("item %d is %s", i, v)
		}
	}
}
