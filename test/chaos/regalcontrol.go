package chaos

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ccbridge/bridge/doubles/regaldouble"
)

// regalControl drives the Regal double process through its control API.
type regalControl struct {
	base string // e.g. http://127.0.0.1:41235
}

// setFaults changes the double's standing conditions.
func (c regalControl) setFaults(ctx context.Context, u regaldouble.FaultsUpdate) error {
	body, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return callControl(ctx, http.MethodPost, c.base+regaldouble.ControlFaultsPath, body, nil)
}

// stats reads the double's counters.
func (c regalControl) stats(ctx context.Context) (regaldouble.Stats, error) {
	var st regaldouble.Stats
	err := callControl(ctx, http.MethodGet, c.base+regaldouble.ControlStatsPath, nil, &st)
	return st, err
}

// received lists the accepted events in arrival order.
func (c regalControl) received(ctx context.Context) ([]regaldouble.ReceivedEvent, error) {
	var out []regaldouble.ReceivedEvent
	err := callControl(ctx, http.MethodGet, c.base+regaldouble.ControlReceivedPath, nil, &out)
	return out, err
}
