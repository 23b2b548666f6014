package timeline

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
)

func TestCompressionRoundTripsAndShrinksSAPIEvents(t *testing.T) {
	var plain, packed int
	for _, c := range scenario.Mix(3, "acmecorp01", 60, time.Now()) {
		for _, raw := range c.Events {
			ev, err := sapi.Decode(raw, "acmecorp01", "regal-bridge", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			p, _ := proto.Marshal(ev)
			z := compress(p)
			if z == nil {
				t.Fatalf("a %d-byte event did not compress", len(p))
			}
			back, err := decompress(z, len(p))
			if err != nil || !bytes.Equal(back, p) {
				t.Fatalf("round trip: %v", err)
			}
			plain, packed = plain+len(p), packed+len(z)
		}
	}
	ratio := float64(packed) / float64(plain)
	t.Logf("stored events compress to %.0f%% of %d bytes", 100*ratio, plain)
	if ratio > 0.4 {
		t.Fatalf("compressed to %.0f%%, want at most 40%%", 100*ratio)
	}
}

func TestIncompressibleEventsAreStoredAsIs(t *testing.T) {
	p := make([]byte, 2048)
	_, _ = rand.Read(p)
	if z := compress(p); z != nil {
		t.Fatalf("random bytes compressed to %d", len(z))
	}
	rec := eventRecord{event: p}
	back, err := decodeEventRecord(rec.encode(), len(p))
	if err != nil || !bytes.Equal(back.event, p) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestDecompressRefusesMoreThanItsBound(t *testing.T) {
	z := compress(bytes.Repeat([]byte("a"), 1<<20))
	if _, err := decompress(z, 64<<10); !errors.Is(err, errTooLarge) {
		t.Fatalf("got %v, want errTooLarge", err)
	}
	if _, err := decompress([]byte("not deflate"), 1024); err == nil {
		t.Fatal("garbage inflated")
	}
}
