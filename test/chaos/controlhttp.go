package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// controlClient talks to a double's control API.
var controlClient = &http.Client{Timeout: 2 * time.Minute}

// callControl sends a control request and decodes a JSON answer into out
// (nil: the answer is ignored). A non-2xx answer is an error.
func callControl(ctx context.Context, method, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, url, err)
	}
	return nil
}

// readAddrFile waits until a double has written its base URL to path.
func readAddrFile(ctx context.Context, path string, alive func() bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b)), nil
		}
		if !alive() {
			return "", fmt.Errorf("exited before writing %s", path)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no address in %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
