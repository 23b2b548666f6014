package sapidouble

import "encoding/json"

// optionalEvents are the Interaction events a consumer must cope without:
// 8x8 documents that events can go missing, and these carry no state the
// later events of the call do not repeat.
var optionalEvents = map[string]bool{
	"InteractionUnqueued":          true,
	"InteractionParticipantChange": true,
	"InteractionEndPostProcess":    true,
	"InteractionRecordingStarted":  true,
	"LineHoldStatus":               true,
	"RecordingStatus":              true,
}

// SetOrderingFaults sets the probability (0–1) that Publish swaps an event
// with the next one of the same call, and that it drops an optional event
// (InteractionUnqueued, InteractionParticipantChange,
// InteractionEndPostProcess, InteractionRecordingStarted, LineHoldStatus,
// RecordingStatus). Both are 0 (off) by default. They act within one
// Publish call, before msgInfo is stamped, so sequenceIds stay gapless as
// when 8x8 itself emits events out of order or not at all.
func (s *Server) SetOrderingFaults(reorder, drop float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.reorder, s.faults.drop = reorder, drop
}

// applyOrderingFaults drops and reorders prepared events; s.mu held.
func (s *Server) applyOrderingFaults(preps []prepared) []prepared {
	f := &s.faults
	if f.reorder <= 0 && f.drop <= 0 {
		return preps
	}
	kept := preps[:0:0]
	for _, p := range preps {
		if f.drop > 0 && optionalEvent(p.json) && f.order.Float64() < f.drop {
			continue
		}
		kept = append(kept, p)
	}
	for i := 0; i+1 < len(kept); i++ {
		if f.reorder > 0 && f.order.Float64() < f.reorder {
			kept[i], kept[i+1] = kept[i+1], kept[i]
			i++ // a swapped event is not swapped again
		}
	}
	return kept
}

// optionalEvent reports whether an event is an optional Interaction event.
func optionalEvent(raw []byte) bool {
	var ev struct {
		Interaction struct {
			Event string `json:"event"`
		} `json:"Interaction"`
	}
	return json.Unmarshal(raw, &ev) == nil && optionalEvents[ev.Interaction.Event]
}
