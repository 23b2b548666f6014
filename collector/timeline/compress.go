package timeline

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"sync"
)

// Stored events are compressed with DEFLATE primed with a dictionary of
// what SAPI events are made of (their keys and common values): an event
// of 2.5 KB (raw JSON and normalized fields) keeps about a quarter of it.
// The dictionary is part of the stored format: never change flateDictV1;
// add a new version (and a new record field) instead.

// flateDictV1 ends with the most frequent strings (DEFLATE reaches the end
// of its window most cheaply).
const flateDictV1 = `"AgentStatusChange":{"newReasonCodeUser":"","newState":,"newSubState":"none","newSubStateReason":"none","statusEventTS":` +
	`"hangupInitiator":"CUSTOMER","callHangupReason":"CEC_DISCONNECT_NORMAL","isQueued":false,"rejectReason":0,` +
	`"dispositionCode":1000,"tclSelectedItems","isDirectAccess":false,"isExternal":false,"isOutboundCall":true,"recordingMode":"no",` +
	`"outboundCampaignid":0,"agentRscWaitTime":30,"agentTreatedPhone":"","agentPhone":,"agentGUID":"","participatingAgents":"","agentId":"ag",` +
	`{"attachedDataKey":"campId","attachedDataValue":},{"attachedDataKey":"campName","attachedDataValue":""},{"attachedDataKey":"dialMode","attachedDataValue":"preview"},` +
	`{"attachedDataKey":"ctl_transType","attachedDataValue":"campaign"},{"attachedDataKey":"originalInteractionGuid","attachedDataValue":"int-"},` +
	`{"attachedDataKey":"channelName","attachedDataValue":""},{"attachedDataKey":"otim","attachedDataValue":},{"attachedDataKey":"pcsOffered","attachedDataValue":"no"},` +
	`{"attachedDataKey":"priority","attachedDataValue":50},{"attachedDataKey":"que","attachedDataValue":"~~queue~~phone~~"},` +
	`{"attachedDataKey":"queueDirection","attachedDataValue":"in"},{"attachedDataKey":"tenantName","attachedDataValue":""},` +
	`{"attachedDataKey":"tenantRecServer","attachedDataValue":""},{"attachedDataKey":"tenantSkillName","attachedDataValue":""},` +
	`{"attachedDataKey":"tim","attachedDataValue":},{"attachedDataKey":"tok","attachedDataValue":},` +
	`"direction":"in","inboundChannelid":,"isAgentInitiated":false,"mediaType":"phone","priority":50,"queueId":,"queueList":,"queueTime":,"transactionNum":,` +
	`"eventTS":,"callState":"CS_QUEUED","CS_INPROGRESS","CS_CONNECTED","CS_DISCONNECTED","resourceType":0,` +
	`{"Interaction":{"attachedData":{"attachedDatum":[{"attachedDataKey":"@pri","attachedDataValue":100},` +
	`{"attachedDataKey":"callingName","attachedDataValue":""},{"attachedDataKey":"cha","attachedDataValue":},` +
	`{"attachedDataKey":"cnt","attachedDataValue":0},{"attachedDataKey":"con","attachedDataValue":0},{"attachedDataKey":"med","attachedDataValue":"T"},` +
	`{"attachedDataKey":"pho","attachedDataValue":},{"attachedDataKey":"phoneNum","attachedDataValue":},` +
	`{"attachedDataKey":"remoteCallingName","attachedDataValue":""},{"attachedDataKey":"remotePhoneNum","attachedDataValue":"+1"}]},` +
	`"event":"InteractionCreated","InteractionQueued","InteractionAssigned","InteractionAccepted","InteractionDeassigned","InteractionDeleted",` +
	`"interactionEventTS":,"interactionGUID":"int--phone--","msgInfo":{"instanceId":"-sapi-v1","sequenceId":,"timestamp":}}}`

var (
	flateLevel   = 2 // past BestSpeed, the only levels that use the dictionary
	flateWriters = sync.Pool{New: func() any {
		w, _ := flate.NewWriterDict(nil, flateLevel, []byte(flateDictV1))
		return w
	}}
	errTooLarge = errors.New("timeline: stored event inflates beyond its bound")
)

// compress returns p deflated with flateDictV1, or nil when that does not
// make it smaller.
func compress(p []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(p) / 3)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(p); err != nil || w.Close() != nil || buf.Len() >= len(p) {
		return nil
	}
	return buf.Bytes()
}

// decompress inflates what compress made, refusing more than limit bytes.
func decompress(b []byte, limit int) ([]byte, error) {
	r := flate.NewReaderDict(bytes.NewReader(b), []byte(flateDictV1))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, errCorrupt
	}
	if len(out) > limit {
		return nil, errTooLarge
	}
	return out, nil
}
