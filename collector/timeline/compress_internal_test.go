package timeline

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
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
	big := bytes.Repeat([]byte("a"), 1<<20)
	tests := []struct {
		name   string
		expand func([]byte, int) ([]byte, error)
		packed []byte
	}{
		{name: "s2", expand: decompress, packed: compress(big)},
		{name: "deflate_written_before_s2", expand: inflate, packed: deflateV1(t, big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.expand(tt.packed, 64<<10); !errors.Is(err, errTooLarge) {
				t.Fatalf("got %v, want errTooLarge", err)
			}
			if _, err := tt.expand([]byte("not compressed"), 1024); err == nil {
				t.Fatal("garbage expanded")
			}
		})
	}
}

// TestRecordsWrittenWithDeflateStayReadable decodes an event record as
// the timeline wrote it before S2: the event deflated in field 7.
func TestRecordsWrittenWithDeflateStayReadable(t *testing.T) {
	raw := scenario.Mix(3, "acmecorp01", 1, time.Now())[0].Events[0]
	ev, err := sapi.Decode(raw, "acmecorp01", "regal-bridge", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := proto.Marshal(ev)
	old := protowire.AppendTag(nil, 7, protowire.BytesType)
	old = protowire.AppendBytes(old, deflateV1(t, p))
	old = appendString(old, 2, "+15550100")
	rec, err := decodeEventRecord(old, len(p))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.event, p) || rec.dims.Phone != "+15550100" {
		t.Fatalf("decoded %d bytes, phone %q; want the %d-byte event and its phone", len(rec.event), rec.dims.Phone, len(p))
	}
}

// deflateV1 compresses p as records were written before S2.
func deflateV1(t *testing.T, p []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriterDict(&buf, 2, []byte(flateDictV1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkCompress measures the recorder's per-event compression: it runs
// once per stored event, on the collector's hot path.
func BenchmarkCompress(b *testing.B) {
	var events [][]byte
	for _, c := range scenario.Mix(3, "acmecorp01", 20, time.Now()) {
		for _, raw := range c.Events {
			ev, err := sapi.Decode(raw, "acmecorp01", "regal-bridge", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			p, _ := proto.Marshal(ev)
			events = append(events, p)
		}
	}
	var in, out int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := events[i%len(events)]
		in, out = in+len(p), out+len(compress(p))
	}
	b.ReportMetric(float64(out)/float64(in), "ratio")
}
