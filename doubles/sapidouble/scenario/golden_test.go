package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// TestGoldenFlows_keep_their_bytes pins the bytes of the three flows the
// end-to-end golden file (test/e2e/testdata) is built from: seed 42, start
// 2026-11-02 14:00 UTC, the flows one minute apart on one *rand.Rand.
func TestGoldenFlows_keep_their_bytes(t *testing.T) {
	const want = "a98faa4914a209e2419530d22cd6d6f007cf920c6999fea39f6b5d77b9eebe05"
	r := NewRand(42)
	at := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	calls := []Call{
		InboundAnswered(r, "acmecorp01", at),
		OutboundCampaignAnswered(r, "acmecorp01", at.Add(time.Minute)),
		OutboundNotAnswered(r, "acmecorp01", at.Add(2*time.Minute)),
	}
	h := sha256.New()
	for _, c := range calls {
		h.Write(bytes.Join(c.Events, []byte("\n")))
		h.Write([]byte("\n"))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("the golden flows changed: sha256 %s, want %s", got, want)
	}
}

func TestMixFlows_weights_add_up_to_100(t *testing.T) {
	total := 0
	for _, wf := range mixFlows {
		total += wf.weight
	}
	if total != 100 {
		t.Fatalf("mixFlows weights add up to %d, want 100", total)
	}
}
