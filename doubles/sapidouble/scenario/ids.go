package scenario

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// interactionGUID has 8x8's shape, int-<11 hex>-<25 alnum>-phone-<nn>-<tenant>;
// like 8x8's, the hex part is the creation time in epoch milliseconds.
func interactionGUID(r *rand.Rand, tenant string, created time.Time) string {
	return fmt.Sprintf("int-%011x-%s-phone-%02d-%s", created.UnixMilli(), randomString(r, alphanumeric, 25), r.IntN(4), tenant)
}

// uuid returns a random version-4 UUID, as 8x8 appends to agent GUIDs.
func uuid(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	s := []byte(randomString(r, hex, 32))
	s[12] = '4'
	s[16] = hex[8+r.IntN(4)]
	return string(s[0:8]) + "-" + string(s[8:12]) + "-" + string(s[12:16]) + "-" + string(s[16:20]) + "-" + string(s[20:32])
}

// customer is the remote party of a call.
type customer struct {
	name   string
	digits int64 // national number, sent as a JSON number in phoneNum and pho
}

// e164 is the number as remotePhoneNum carries it.
func (c customer) e164() string { return "+1" + strconv.FormatInt(c.digits, 10) }

var (
	areaCodes = []int64{201, 212, 312, 415, 551, 617, 629, 702, 718, 805}
	names     = []string{"Andrew Cunningh", "Maria Lopez", "Wei Zhang", "Zoë Dubois", "Sam O'Neil", "Priya Natarajan"}
)

// newCustomer picks a caller; numbers are in 555-0100…0199, reserved for
// fiction.
func newCustomer(r *rand.Rand) customer {
	return customer{
		name:   names[r.IntN(len(names))],
		digits: areaCodes[r.IntN(len(areaCodes))]*10_000_000 + 5_550_100 + int64(r.IntN(100)),
	}
}

// Agent is a contact center agent as SAPI identifies it.
type Agent struct {
	ID    string // agentId
	Phone int64  // extension, agentPhone
}

// Agents are the agents the flows assign calls to. The first is the agent
// of Regal's 8x8 integration examples.
var Agents = []Agent{
	{ID: "agyQDfU5k6SMKy8bv8vOXTGg", Phone: 40375},
	{ID: "agAglVJkg0TU28dok9y9UQKg", Phone: 40376},
	{ID: "ag9I1yUNAvRqG7ovVMi3NTyw", Phone: 40377},
}

// agentFields are the agent members of an agent-bound Interaction event.
func agentFields(r *rand.Rand, tenant string, a Agent) fields {
	return fields{
		"agentGUID":           tenant + "-" + a.ID + "-" + uuid(r),
		"agentId":             a.ID,
		"agentPhone":          a.Phone,
		"agentRscWaitTime":    30,
		"agentTreatedPhone":   strconv.FormatInt(a.Phone, 10) + "-" + tenant,
		"participatingAgents": a.ID,
		"promptingTimeout":    30,
	}
}
