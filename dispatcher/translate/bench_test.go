package translate_test

import (
	"testing"

	"github.com/ccbridge/bridge/dispatcher/translate"
)

// BenchmarkTranslate measures one seed event through Translate, phone
// normalization included. Run with -benchmem.
func BenchmarkTranslate(b *testing.B) {
	tr := newTranslator(b, translate.DefaultMapping())
	ev := seedEvents()["Interaction Deassigned"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Translate(ev); err != nil {
			b.Fatal(err)
		}
	}
}
