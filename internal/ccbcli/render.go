package ccbcli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// printJSON prints m as JSON (protojson field names and values):
// indented for a single answer, on one line for items of a list or a
// stream (JSON Lines). The layout is normalized: protojson's own varies on
// purpose.
func printJSON(out io.Writer, m proto.Message, oneLine bool) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if oneLine {
		err = json.Compact(&buf, b)
	} else {
		err = json.Indent(&buf, b, "", "  ")
	}
	if err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = out.Write(buf.Bytes())
	return err
}

func newTable(out io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
}

// state is a delivery state's short name ("delivered", "dead_lettered").
func state(s queryv1.DeliveryState) string {
	if s == queryv1.DeliveryState_DELIVERY_STATE_UNSPECIFIED {
		return "-"
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "DELIVERY_STATE_"))
}

func changeName(t queryv1.ChangeType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "CHANGE_TYPE_"))
}

func verdictName(v queryv1.DedupVerdict) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), "DEDUP_VERDICT_"))
}

// countsLine summarizes an interaction's events by state.
func countsLine(c *queryv1.DeliveryCounts) string {
	parts := []string{plural(c.GetEvents(), "event", "events")}
	for _, p := range []struct {
		n    int32
		name string
	}{
		{c.GetDelivered(), "delivered"}, {c.GetSkipped(), "skipped"}, {c.GetDeadLettered(), "dead-lettered"},
		{c.GetRetrying(), "retrying"}, {c.GetInDelivery(), "in delivery"}, {c.GetPending(), "pending"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	if n := c.GetDuplicates(); n > 0 {
		parts = append(parts, plural(n, "duplicate", "duplicates")+" dropped")
	}
	return strings.Join(parts, ", ")
}

func plural(n int32, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// deliveryDetail is a delivery's Regal status, attempts and reason.
func deliveryDetail(d *queryv1.Delivery) string {
	var parts []string
	if d.GetRegalStatus() != 0 {
		parts = append(parts, fmt.Sprintf("regal %d", d.GetRegalStatus()))
	}
	if d.GetAttempts() != 0 {
		parts = append(parts, fmt.Sprintf("%d attempt(s)", d.GetAttempts()))
	}
	if d.GetReplays() != 0 {
		parts = append(parts, fmt.Sprintf("replayed %d×", d.GetReplays()))
	}
	if d.GetReason() != "" {
		parts = append(parts, d.GetReason())
	}
	return strings.Join(parts, ", ")
}

// changeDetail is what an EventChange says beyond its type and time.
func changeDetail(c *queryv1.EventChange) string {
	var parts []string
	if c.GetType() == queryv1.ChangeType_CHANGE_TYPE_RECEIVED {
		parts = append(parts, verdictName(c.GetDedupVerdict()))
	}
	if c.GetDispatcher() != "" {
		parts = append(parts, "by "+c.GetDispatcher())
	}
	if c.GetRedelivery() != 0 {
		parts = append(parts, fmt.Sprintf("redelivery %d", c.GetRedelivery()))
	}
	if c.GetRegalStatus() != 0 {
		parts = append(parts, fmt.Sprintf("regal %d", c.GetRegalStatus()))
	}
	if c.GetAttempts() != 0 {
		parts = append(parts, fmt.Sprintf("%d attempt(s)", c.GetAttempts()))
	}
	if c.GetReason() != "" {
		parts = append(parts, c.GetReason())
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func idOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// short cuts an event id (a 32-hex dedup key) for tables.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
