package sapi

// sapiNames are the field names, attachedData keys and frequent values of
// SAPI events. A text copied out of a frame that equals one of them reuses
// the constant instead of allocating: most texts in an event are such names.
var sapiNames = func() map[string]string {
	names := []string{
		// envelope and msgInfo
		"Interaction", "AgentStatusChange", "AgentProvChange", "ClientCheck", "msgInfo", "instanceId", "sequenceId", "timestamp",
		"heartbeat", "subscription-id", "tenant-id", "event",
		// interaction fields
		"agentGUID", "agentId", "agentPhone", "agentRscWaitTime", "agentTreatedPhone", "allowAgentOverrideInteractionRecording",
		"attachedData", "attachedDatum", "attachedDataKey", "attachedDataValue", "callHangupReason", "callState",
		"callerPermission", "direction", "dispositionCode", "emailSourceAddress", "eventTS", "hangupInitiator",
		"inboundChannelid", "interactionEventTS", "interactionGUID", "isAPICall", "isAgentInitiated", "isDirectAccess",
		"isExternal", "isOutboundCall", "isQueued", "mediaType", "outboundCampaignid", "overrideAutoInteractionRecording",
		"participatingAgents", "priority", "promptingTimeout", "queueId", "queueList", "queueTime", "recordingMode",
		"rejectReason", "resourceType", "status", "transactionNum",
		// agent fields
		"newReasonCodeUser", "newState", "newSubState", "newSubStateReason", "statusEventTS", "enabled", "skillId", "tenantSkillId",
		// attachedData keys
		"@pri", "callingName", "callerId", "cha", "channelName", "cnt", "con", "med", "pho", "phoneNum", "tok", "que", "oqu",
		"queueDirection", "tenantName", "tenantSkillName", "tim", "otim", "waitTime", "pcsOffered", "tenantRecServer",
		"remoteCallingName", "remotePhoneNum", "ctl_transType", "destType", "campId", "campName", "dialMode",
		"originalInteractionGuid", "originalTokenId", "originalTransactionId", "tclSelectedItems",
		"callAnsweredTime", "callHangupTime", "callDuration", "callDurationSec",
		// frequent values
		"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted", "InteractionCustomerAccepted",
		"InteractionParticipantChange", "InteractionPostProcess", "InteractionEndPostProcess", "InteractionDeassigned",
		"InteractionDeleted", "InteractionRejected", "InteractionUnqueued", "LineHoldStatus", "RecordingStatus",
		"CS_IDLE", "CS_QUEUED", "CS_INPROGRESS", "CS_CONNECTED", "CS_HOLD", "CS_DISCONNECTED",
		"phone", "chat", "email", "in", "out", "yes", "no", "none", "N/A", "T", "C", "campaign", "agentdial",
		"SYSTEM", "AGENT", "CUSTOMER", "CEC_NONE", "CEC_DISCONNECT_NORMAL", "CEC_DISCONNECT_NOANSWER", "CEC_DISCONNECT_BUSY",
		"[HEARTBEAT]",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}()

// internString returns b as a string, reusing a known SAPI name when b is
// one (the map lookup with string(b) does not allocate).
func internString(b []byte) string {
	if s, ok := sapiNames[string(b)]; ok {
		return s
	}
	return string(b)
}
