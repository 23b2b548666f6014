package sapi

import (
	"strings"
	"testing"
	"time"
)

func BenchmarkDecode(b *testing.B) {
	lines := readSamples(b)
	frame := lines[4] // sample E, a full InteractionQueued
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(frame, "acmecorp01", "subs", time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFramer(b *testing.B) {
	lines := readSamples(b)
	stream := strings.Repeat(string(lines[4])+"\n", 1000)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		f := NewFramer(strings.NewReader(stream), FormatNewlineJSON, 0)
		for {
			if _, err := f.Next(); err != nil {
				break
			}
		}
	}
}
