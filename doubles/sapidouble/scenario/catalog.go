package scenario

// Queue is a contact center queue (a "tenant skill" in SAPI).
type Queue struct {
	// ID is the queueId.
	ID int64
	// Name is the attached tenantSkillName.
	Name string
}

// Campaign is an outbound campaign and the queue its calls go through.
type Campaign struct {
	// ID is outboundCampaignid and the attached campId.
	ID int64
	// Name is the attached campName.
	Name string
	// Queue is where the campaign's calls are queued.
	Queue Queue
	// DialMode is the attached dialMode, e.g. "preview".
	DialMode string
}

// InboundSales is the queue inbound calls go to (8x8's sample queue).
var InboundSales = Queue{ID: 591, Name: "Test Sales"}

// HighNetWorth is the campaign of Regal's 8x8 integration examples; the
// campaign flows use it so their events line up with Regal's.
var HighNetWorth = Campaign{
	ID:       61,
	Name:     "Form Submission - High Net Worth: 3 Attempts",
	Queue:    Queue{ID: 110, Name: "New Form - High Net Worth"},
	DialMode: "preview",
}

// Disposition codes of Regal's 8x8 setup.
const (
	DispositionNone             = 1000
	DispositionTryAgain         = 1001
	DispositionScheduleCallback = 1002
	DispositionDoNotCall        = 2001
)

// The inbound channel (dialled number) of inbound calls, as in 8x8's samples.
const (
	inboundChannelID   int64 = 13125555068
	inboundChannelName       = "Acme Ads OG"
)

// Flow names, used as Call.Name.
const (
	FlowInboundAnswered          = "InboundAnswered"
	FlowOutboundCampaignAnswered = "OutboundCampaignAnswered"
	FlowOutboundNotAnswered      = "OutboundNotAnswered"
	FlowAgentBreak               = "AgentBreak"
	FlowInboundAbandoned         = "InboundAbandoned"
	FlowIVRHangup                = "IVRHangup"
	FlowOutboundBusy             = "OutboundBusy"
	FlowAgentRejectReoffer       = "AgentRejectReoffer"
	FlowHoldUnhold               = "HoldUnhold"
	FlowTransfer                 = "Transfer"
)
