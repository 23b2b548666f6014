package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ccbridge/bridge/doubles/regaldouble"
)

// eachReceived streams the Regal double's accepted requests, in arrival
// order, to fn, without holding the whole list (a soak's is large).
func eachReceived(ctx context.Context, regalURL string, fn func(regaldouble.ReceivedEvent) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, regalURL+regaldouble.ControlReceivedPath, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", req.URL, resp.StatusCode)
	}
	dec := json.NewDecoder(resp.Body)
	if _, err := dec.Token(); err != nil { // [
		return fmt.Errorf("received list: %w", err)
	}
	for dec.More() {
		var r regaldouble.ReceivedEvent
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("received list: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
