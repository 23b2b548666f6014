package demo

import (
	"bytes"
	"encoding/json"
	"slices"
)

// mappedEvents are the SAPI events the default mapping sends to Regal.
var mappedEvents = []string{
	"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionDeassigned",
	"InteractionAccepted", "InteractionCustomerAccepted", "InteractionParticipantChange",
	"InteractionPostProcess", "InteractionDeleted",
}

// expectedRegal counts the distinct events of a scripted stream that must
// reach Regal: mapped interaction events that carry a customer phone.
func expectedRegal(events [][]byte) int {
	n := 0
	for _, b := range events {
		var env map[string]struct {
			Event        string `json:"event"`
			AttachedData struct {
				AttachedDatum json.RawMessage `json:"attachedDatum"`
			} `json:"attachedData"`
		}
		if json.Unmarshal(b, &env) != nil {
			continue
		}
		in, ok := env["Interaction"]
		if !ok || !slices.Contains(mappedEvents, in.Event) {
			continue
		}
		d := in.AttachedData.AttachedDatum
		if bytes.Contains(d, []byte(`"remotePhoneNum"`)) || bytes.Contains(d, []byte(`"phoneNum"`)) || bytes.Contains(d, []byte(`"pho"`)) {
			n++
		}
	}
	return n
}
