package sapidouble

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/sapi"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// TestDocumentedSamplesDecodeAlikeInEveryFormat sends 8x8's documented
// samples through the double in each output format (JSON, NEWLINE_JSON,
// XML, NEWLINE_XML; chunked at random, padded, length-prefixed) and checks
// that each decodes to the same normalized event in all four.
func TestDocumentedSamplesDecodeAlikeInEveryFormat(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "testdata", "sapi", "documented-samples.ndjson"))
	if err != nil {
		t.Fatalf("documented samples: %v", err)
	}
	defer f.Close()
	var samples [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			samples = append(samples, append([]byte(nil), sc.Bytes()...))
		}
	}
	if len(samples) != 10 {
		t.Fatalf("got %d documented samples, want 10", len(samples))
	}
	// The heartbeat sample is a ClientCheck, which the double sends itself.
	events := samples[1:]
	// One subscription per format, all fed by one publication (so msgInfo
	// is the same); 8x8's limit of three is lifted for the test.
	s := startDouble(t, func(c *Config) {
		c.SplitChunks, c.Seed, c.Padding, c.MaxSubscriptionsPerTenant = true, 3, true, 4
	})
	formats := []string{"NEWLINE_JSON", "JSON", "XML", "NEWLINE_XML"}
	subs := map[string]*subscriber{}
	for _, format := range formats {
		subs[format] = subscribe(t, s, "samples-"+format, format, "&X-Atmosphere-TrackMessageSize=true")
	}
	waitSubscribed(t, s, len(formats))
	must(t, s.Publish(tenant, events...))
	decoded := map[string][]*eventv1.Event{}
	for format, sub := range subs {
		for range events {
			ev, err := sapi.Decode([]byte(sub.nextEvent(t)), tenant, "s", time.Unix(0, 0))
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			ev.Raw = nil // the only thing that may differ: the bytes on the wire
			decoded[format] = append(decoded[format], ev)
		}
	}
	for _, format := range formats[1:] {
		for i := range events {
			if !proto.Equal(decoded[format][i], decoded[formats[0]][i]) {
				t.Errorf("sample %d decodes differently in %s:\n%v\nvs NEWLINE_JSON:\n%v", i+2, format, decoded[format][i], decoded[formats[0]][i])
			}
		}
	}
}
