package httpbody

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRoom(t *testing.T) {
	for _, tc := range []struct {
		name          string
		contentLength int64
		want          int
	}{
		{"unknown length", -1, 512},
		{"empty body", 0, 1},
		{"announced length and the read that finds the end", 100, 101},
		{"at the limit", 1000, 1001},
		{"over the limit", 1001, 512},
	} {
		if got := Room(tc.contentLength, 1000); got != tc.want {
			t.Errorf("%s: Room(%d, 1000) = %d, want %d", tc.name, tc.contentLength, got, tc.want)
		}
	}
}

func TestAppendAll(t *testing.T) {
	body := strings.Repeat("0123456789", 300)
	for _, tc := range []struct {
		name    string
		dst     []byte
		r       io.Reader
		want    string
		wantErr error
	}{
		{"appends after what dst holds", []byte("head:"), strings.NewReader(body), "head:" + body, nil},
		{"reads in small pieces", nil, iotest.OneByteReader(strings.NewReader(body)), body, nil},
		{"fills an exactly sized buffer without growing it", make([]byte, 0, Room(int64(len(body)), len(body))), strings.NewReader(body), body, nil},
		{"keeps what came before an error", nil, io.MultiReader(strings.NewReader("part"), iotest.ErrReader(io.ErrUnexpectedEOF)), "part", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cap(tc.dst)
			got, err := AppendAll(tc.dst, tc.r)
			if !errors.Is(err, tc.wantErr) || !bytes.Equal(got, []byte(tc.want)) {
				t.Fatalf("AppendAll = %d bytes, %v; want %d bytes, %v", len(got), err, len(tc.want), tc.wantErr)
			}
			if before > len(tc.want) && cap(got) != before {
				t.Errorf("capacity %d grew to %d though it had room", before, cap(got))
			}
		})
	}
}
