package chaos

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble"
)

// sapiControl drives the SAPI double process through its control API.
type sapiControl struct {
	base   string // e.g. http://127.0.0.1:41234
	tenant string
}

func (c sapiControl) url(action string) string {
	return c.base + sapidouble.ControlPrefix + action + "?tenant=" + url.QueryEscape(c.tenant)
}

// publish publishes events, in order, as one batch.
func (c sapiControl) publish(ctx context.Context, events [][]byte) error {
	return callControl(ctx, http.MethodPost, c.url("publish"), bytes.Join(events, []byte("\n")), nil)
}

// publishPaced publishes events as one batch that the double writes at
// its pace: event i at first + i × interval, not before.
func (c sapiControl) publishPaced(ctx context.Context, first time.Time, interval time.Duration, events [][]byte) error {
	u := c.url("publish") + "&first=" + url.QueryEscape(first.Format(time.RFC3339Nano)) + "&interval=" + interval.String()
	return callControl(ctx, http.MethodPost, u, bytes.Join(events, []byte("\n")), nil)
}

// cut ends the open streams cleanly, as 8x8's 60-minute cut.
func (c sapiControl) cut(ctx context.Context) error {
	return callControl(ctx, http.MethodPost, c.url("cut"), nil, nil)
}

// failover moves the tenant to another 8x8 instance.
func (c sapiControl) failover(ctx context.Context) error {
	return callControl(ctx, http.MethodPost, c.url("failover"), nil, nil)
}

// stats reads the double's counters.
func (c sapiControl) stats(ctx context.Context) (sapidouble.Stats, error) {
	var st sapidouble.Stats
	err := callControl(ctx, http.MethodGet, c.base+sapidouble.ControlPrefix+"stats", nil, &st)
	return st, err
}

// tenantStats reads the counters of the run's tenant.
func (c sapiControl) tenantStats(ctx context.Context) (sapidouble.TenantStats, error) {
	st, err := c.stats(ctx)
	return st.Tenants[c.tenant], err
}
