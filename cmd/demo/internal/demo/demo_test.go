package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoCountsMatchTheScript(t *testing.T) {
	ctx := context.Background()
	o := Options{Calls: 12, Seed: 5, Dispatchers: 2, RepeatEvery: 3, Wait: 30 * time.Second}
	var out bytes.Buffer
	d, err := Start(ctx, o, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	r, err := d.Play(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	r.Print(&out)
	if !r.Match() {
		t.Fatalf("demo counts do not match:\n%s", out.String())
	}
	if r.Repeats == 0 || r.ExpectedRegal == 0 {
		t.Fatalf("the script must contain repeats and mapped events: %+v", r)
	}
	if !strings.Contains(out.String(), "MATCH:") {
		t.Fatalf("report lacks the verdict:\n%s", out.String())
	}
}
