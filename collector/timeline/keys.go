package timeline

import "strconv"

// Index dimensions (see the key layout in the package documentation).
const (
	dimAll  = "all"
	dimDead = "dead"
)

func dimPhone(e164 string) string    { return "ph:" + e164 }
func dimCampaign(id int64) string    { return "cp:" + strconv.FormatInt(id, 10) }
func dimQueue(id int64) string       { return "q:" + strconv.FormatInt(id, 10) }
func dimAgent(agentID string) string { return "ag:" + agentID }

func (s *Store) summaryKey(tenant, interaction string) string {
	return s.cfg.KeyPrefix + ":tl:{" + tenant + ":" + interaction + "}:i"
}

func (s *Store) historyKey(tenant, interaction string) string {
	return s.cfg.KeyPrefix + ":tl:{" + tenant + ":" + interaction + "}:h"
}

func (s *Store) eventKey(tenant, event string) string {
	return s.cfg.KeyPrefix + ":tl:e:{" + tenant + ":" + event + "}"
}

// interactionIndexKey is the sorted set of a tenant's interactions on dim.
func (s *Store) interactionIndexKey(tenant, dim string) string {
	return s.cfg.KeyPrefix + ":tl:ix:{" + tenant + ":" + dim + "}"
}

// eventIndexKey is the sorted set of a tenant's events on dim.
func (s *Store) eventIndexKey(tenant, dim string) string {
	return s.cfg.KeyPrefix + ":tl:ev:{" + tenant + ":" + dim + "}"
}

// Summary hash fields. Per-event fields are "<prefix><event id>".
const (
	fPhone        = "ph"
	fCampaignID   = "cid"
	fCampaignName = "cn"
	fQueueID      = "qid"
	fQueueName    = "qn"
	fType         = "ty"
	fDirection    = "dir"
	fMediaType    = "mt"
	fFirst        = "first"
	fLast         = "last"
	fLastType     = "let"
	fTraceID      = "tr"

	pPhone     = "p:" // p:<e164> = 1 for every phone seen
	pCampaign  = "c:" // c:<id> = 1
	pQueue     = "q:" // q:<id> = 1
	pAgent     = "a:" // a:<agent> = 1
	pState     = "s:" // s:<event> = state codec
	pSightings = "n:" // n:<event> = times received
	pDuplicate = "d:" // d:<event> = last duplicate, unix ms
	pReplays   = "r:" // r:<event> = times replayed
	pAttempts  = "t:" // t:<event> = Regal attempts so far
)
