package sapi

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pitfalls maps each known SAPI pitfall (reference notes §4, 1 to 16) to
// the tests that cover it, or says in one line why it does not apply.
var pitfalls = []struct {
	n        int
	pitfall  string
	tests    []string // "<package dir>:<TestName>", relative to the repository
	notApply string
}{
	{1, "60-minute forced disconnect: reconnect at once with the same subsId", []string{
		"collector/sapi:TestClient_reconnects_at_once_with_same_subscription_after_clean_cut",
		"doubles/sapidouble:TestSessionTTL_ends_stream_cleanly"}, ""},
	{2, "2-hour cache window: a longer outage is a silent gap", []string{
		"collector/sapi:TestClient_possible_gap_alert_after_an_outage_longer_than_the_replay_cache",
		"doubles/sapidouble:TestRetention_drops_old_buffers"}, ""},
	{3, "at most 3 concurrent subscriptions per tenant", []string{
		"doubles/sapidouble:TestSubscriptionLimit",
		"collector/sapi:TestClient_backs_off_after_errors"}, ""},
	{4, "token regeneration breaks every integration at once (401)", []string{
		"collector/sapi:TestClient_unauthorized_alerts_and_keeps_probing"}, ""},
	{5, "duplicates on reconnect replay (at-least-once)", []string{
		"doubles/sapidouble:TestDuplicateOnReplay",
		"collector/sapi:TestDedupKey_same_event_same_key",
		"doubles/sapidouble:TestCollectorClient_survives_cuts_replays_and_failovers",
		"test/e2e:TestDocumentedSamplesAndScriptedFlowsReachRegalExactlyOnceInOrder"}, ""},
	// The bridge keeps no call state machine: it forwards each interaction's
	// events in arrival order, so a missing or late event is forwarded as it
	// comes, and events sharing a second are kept apart by content.
	{6, "out-of-order and missing events; same-second timestamps; transfers", []string{
		"collector/sapi:TestDedupKey_different_events_different_keys",
		"test/e2e:TestManyCallsOverTwoDispatchersKeepOrderPerInteraction"}, ""},
	{7, "type instability: numbers/strings/booleans, \"N/A\", dispositionCode, participatingAgents, single attachedDatum", []string{
		"collector/sapi:TestDecode_type_instability",
		"collector/sapi:TestDedupKey_single_attached_datum_object_equals_array"}, ""},
	{8, "field-name casing (inboundChannelid, outboundCampaignid, interactionGUID, subscription-id)", []string{
		"collector/sapi:TestDecode_documented_samples"}, ""},
	{9, "framing: chunks are not events, padding, X heartbeats, len| prefixes with | in payloads, handshake", []string{
		"collector/sapi:TestFramer_streams",
		"collector/sapi:TestFramer_chunk_boundaries_are_not_event_boundaries",
		"doubles/sapidouble:TestChunkSplitting_yields_the_same_frames",
		"collector/sapi:FuzzFramer"}, ""},
	{10, "heartbeats (ClientCheck) inside the data stream are dropped but advance sequenceId", []string{
		"collector/sapi:TestDecode_documented_samples",
		"doubles/sapidouble:TestMsgInfoStamping"}, ""},
	{11, "documentation contradictions (subsId vs subscriptionId, wss vs HTTP streaming, …)", []string{
		"collector/sapi:TestConfig_stream_url",
		"doubles/sapidouble:TestRouting"}, ""},
	{12, "Pulsar reader stalls without acks", nil, "the bridge reads the legacy SAPI stream; the Pulsar WebSocket transport is not implemented"},
	{13, "Pulsar messageId must be URL-encoded", nil, "the bridge reads the legacy SAPI stream; the Pulsar WebSocket transport is not implemented"},
	{14, "Pulsar starts at latest by default", nil, "the bridge reads the legacy SAPI stream; the Pulsar WebSocket transport is not implemented"},
	{15, "region mismatch gives a silent empty stream", []string{
		"collector/sapi:TestClient_idle_watchdog_drops_silent_stream"}, ""},
	{16, "rate limits: none documented; 429 at subscribe", []string{
		"collector/sapi:TestClient_backs_off_after_errors",
		"collector/sapi:TestClient_empty_streams_back_off_instead_of_spinning"}, ""},
}

// TestPitfallsAreCovered checks the table: all sixteen pitfalls, each with
// tests that exist in the repository or a reason why it does not apply.
func TestPitfallsAreCovered(t *testing.T) {
	if len(pitfalls) != 16 {
		t.Fatalf("the table has %d pitfalls, want 16", len(pitfalls))
	}
	root := filepath.Join("..", "..")
	for i, p := range pitfalls {
		t.Run(strings.ReplaceAll(p.pitfall[:min(40, len(p.pitfall))], " ", "_"), func(t *testing.T) {
			if p.n != i+1 {
				t.Fatalf("row %d is numbered %d", i+1, p.n)
			}
			if len(p.tests) == 0 && p.notApply == "" {
				t.Fatalf("pitfall %d has neither tests nor a reason", p.n)
			}
			for _, ref := range p.tests {
				dir, name, _ := strings.Cut(ref, ":")
				if !hasTest(t, filepath.Join(root, dir), name) {
					t.Errorf("pitfall %d: %s has no %s", p.n, dir, name)
				}
			}
		})
	}
}

func hasTest(t *testing.T, dir, name string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s", dir)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if file.Scope.Lookup(name) != nil {
			return true
		}
	}
	return false
}
