package sapidouble

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
)

// deadlineRecorder is a streaming response that records the body, its
// flushes and the most bytes written under one write deadline.
type deadlineRecorder struct {
	header          http.Header
	body            bytes.Buffer
	flushes         int
	sinceDeadline   int
	maxPerDeadline  int
	failAfterLength int // a Write fails once the body is this long; 0: never
}

var errWriteFailed = errors.New("write failed")

func (r *deadlineRecorder) Header() http.Header { return r.header }
func (r *deadlineRecorder) WriteHeader(int)     {}

func (r *deadlineRecorder) Write(b []byte) (int, error) {
	if r.failAfterLength > 0 && r.body.Len()+len(b) > r.failAfterLength {
		return 0, errWriteFailed
	}
	r.sinceDeadline += len(b)
	r.maxPerDeadline = max(r.maxPerDeadline, r.sinceDeadline)
	return r.body.Write(b)
}

// SetWriteDeadline and FlushError are what http.ResponseController uses.
func (r *deadlineRecorder) SetWriteDeadline(time.Time) error {
	r.sinceDeadline = 0
	return nil
}

func (r *deadlineRecorder) FlushError() error {
	r.flushes++
	return nil
}

func TestStreamWriter_write(t *testing.T) {
	var backlog []item // a reconnect's backlog: well over maxKeptBatchBytes
	for _, ev := range scenario.Interleave(scenario.Mix(3, tenant, 200, time.Unix(1724685483, 0)), 3) {
		p, err := prepare(ev)
		if err != nil {
			t.Fatal(err)
		}
		backlog = append(backlog, item{event: p.stamp([]byte(`{}`))})
	}
	notJSON := item{event: []byte(`{"A":`)} // renders as XML with an error
	cases := []struct {
		name      string
		format    outputFormat
		trackSize bool
		split     bool
		batch     []item
		failAfter int
		// wantItems is how many items of batch the body holds; wantErr
		// is the error write returns.
		wantItems int
		wantErr   bool
	}{
		{name: "backlog as newline JSON", format: formatNewlineJSON, batch: backlog, wantItems: len(backlog)},
		{name: "backlog as JSON with length prefixes", format: formatJSON, trackSize: true, batch: backlog, wantItems: len(backlog)},
		{name: "backlog as newline XML", format: formatNewlineXML, batch: backlog, wantItems: len(backlog)},
		{name: "backlog split at random points", format: formatNewlineJSON, split: true, batch: backlog, wantItems: len(backlog)},
		{name: "raw bytes as they are", format: formatXML, batch: []item{{event: []byte("garbage"), raw: true}, backlog[0]}, wantItems: 2},
		{name: "events before one that fails to render still go out", format: formatXML,
			batch: []item{backlog[0], backlog[1], notJSON, backlog[2]}, wantItems: 2, wantErr: true},
		{name: "split: nothing goes out when one fails to render", format: formatXML, split: true,
			batch: []item{backlog[0], notJSON}, wantItems: 0, wantErr: true},
		{name: "a failed write ends the batch", format: formatNewlineJSON, batch: backlog, failAfter: 3 * maxKeptBatchBytes / 2,
			wantItems: -1, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &deadlineRecorder{header: http.Header{}, failAfterLength: tc.failAfter}
			out := &streamWriter{renderer: renderer{format: tc.format, trackSize: tc.trackSize}, w: rec, rc: http.NewResponseController(rec)}
			if tc.split {
				out.split = rand.New(rand.NewPCG(1, 2))
			}
			err := out.write(tc.batch)
			if (err != nil) != tc.wantErr {
				t.Fatalf("write: %v, want an error: %v", err, tc.wantErr)
			}
			if rec.maxPerDeadline > maxBytesPerDeadline {
				t.Errorf("%d bytes written under one deadline, want at most %d", rec.maxPerDeadline, maxBytesPerDeadline)
			}
			if cap(out.buf) > maxKeptBatchBytes {
				t.Errorf("kept a batch buffer of %d bytes, want at most %d", cap(out.buf), maxKeptBatchBytes)
			}
			if tc.wantItems < 0 {
				// What was written before the failure is a prefix of the
				// batch, written in whole flushes.
				if want := renderAll(t, out.renderer, tc.batch); !bytes.HasPrefix(want, rec.body.Bytes()) || rec.body.Len() == 0 {
					t.Errorf("wrote %d bytes that are not a prefix of the batch", rec.body.Len())
				}
				return
			}
			if want := renderAll(t, out.renderer, tc.batch[:tc.wantItems]); !bytes.Equal(rec.body.Bytes(), want) {
				t.Errorf("body is %d bytes, want the %d bytes of %d items rendered one by one", rec.body.Len(), len(want), tc.wantItems)
			}
			if tc.wantItems > 0 && rec.flushes == 0 {
				t.Error("the body was never flushed")
			}
		})
	}
}

// renderAll renders each item on its own, as the stream used to write them.
func renderAll(t *testing.T, o renderer, batch []item) []byte {
	t.Helper()
	var all []byte
	for _, it := range batch {
		msg, err := o.render(it)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, msg...)
	}
	return all
}
