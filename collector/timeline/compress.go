package timeline

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
)

// Stored events are compressed with S2 (Snappy's successor) primed with a
// dictionary of what SAPI events are made of (their keys and common
// values): an event of 2.5 KB (raw JSON and normalized fields) keeps about
// a third of it, for about 4 µs of CPU. Records written before used DEFLATE
// with the same dictionary (a quarter, but 50 µs: a third of the
// collector's CPU at full speed) and stay readable.
//
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
	// s2DictV1 is flateDictV1 as an S2 dictionary; it is read-only and
	// safe for concurrent use.
	s2DictV1    = s2.MakeDict([]byte(flateDictV1), nil)
	errTooLarge = errors.New("timeline: stored event inflates beyond its bound")
)

// compress returns p compressed with S2 and s2DictV1, or nil when that does
// not make it smaller.
func compress(p []byte) []byte {
	var z []byte
	compressTo(p, func(c []byte) { z = bytes.Clone(c) })
	return z
}

// compressScratch holds S2's worst-case output buffers between calls.
var compressScratch = sync.Pool{New: func() any { return new([]byte) }}

// compressTo calls use with p compressed (valid only during the call), or
// with nil when that does not make it smaller. The output goes through a
// pooled buffer sized for the worst case, so a caller that copies it into
// its own record allocates only what the record keeps.
func compressTo(p []byte, use func(z []byte)) {
	buf := compressScratch.Get().(*[]byte)
	defer compressScratch.Put(buf)
	if n := s2.MaxEncodedLen(len(p)); cap(*buf) < n {
		*buf = make([]byte, n)
	}
	z := s2DictV1.Encode((*buf)[:cap(*buf)], p)
	if len(z) >= len(p) {
		use(nil)
		return
	}
	use(z)
}

// decompress expands what compress made, refusing more than limit bytes.
func decompress(b []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(b)
	if err != nil {
		return nil, errCorrupt
	}
	if n > limit {
		return nil, errTooLarge
	}
	out, err := s2DictV1.Decode(make([]byte, n), b)
	if err != nil {
		return nil, errCorrupt
	}
	return out, nil
}

// inflate expands a record written with DEFLATE and flateDictV1 (before
// S2), refusing more than limit bytes.
func inflate(b []byte, limit int) ([]byte, error) {
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
