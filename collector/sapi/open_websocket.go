package sapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// webSocketReadSlack leaves room, above MaxEventBytes, for an Atmosphere
// "<len>|" prefix and padding in one message.
const webSocketReadSlack = 4 << 10

// openWebSocket opens the subscription over WebSocket (the StreamURL in
// its ws(s) form, X-Atmosphere-Transport=websocket) with the same Basic
// credentials. On success the stream reads the messages as one byte
// stream, a newline after each, so the Framer cuts them exactly as it cuts
// HTTP streaming (padding, "X" heartbeats and length prefixes included). A
// refused upgrade is reported like a refused HTTP request: 401/403 are
// unauthorized. A message over MaxEventBytes ends the connection (the
// WebSocket library enforces the limit), and the client reconnects.
func (c *Client) openWebSocket(ctx context.Context) (*openStream, streamResult) {
	header := http.Header{}
	header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cfg.Username+":"+c.cfg.Token.Reveal())))
	header.Set("User-Agent", userAgent)
	conn, resp, err := websocket.Dial(ctx, c.streamURL, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: header})
	if resp != nil {
		c.lastHTTPStatus.Store(int32(resp.StatusCode))
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			if resp.Body == nil {
				resp.Body = http.NoBody
			}
			return nil, c.refused(resp)
		}
		return nil, streamResult{err: err}
	}
	conn.SetReadLimit(int64(c.cfg.MaxEventBytes) + webSocketReadSlack)
	return &openStream{body: &messageReader{ctx: ctx, conn: conn}, status: resp.StatusCode}, streamResult{}
}

// messageReader reads a WebSocket's text messages as one byte stream, a
// newline after each message. A close with status 1000 (normal) or 1001
// (going away) is the clean end of stream, io.EOF.
type messageReader struct {
	ctx     context.Context
	conn    *websocket.Conn
	pending []byte
}

// Read implements io.Reader.
func (m *messageReader) Read(p []byte) (int, error) {
	for len(m.pending) == 0 {
		kind, data, err := m.conn.Read(m.ctx)
		if err != nil {
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
				return 0, io.EOF
			}
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF // the connection dropped without a close frame
			}
			return 0, err
		}
		if kind == websocket.MessageText {
			m.pending = append(data, '\n')
		}
	}
	n := copy(p, m.pending)
	m.pending = m.pending[n:]
	return n, nil
}

// Close closes the connection at once, without the close handshake.
func (m *messageReader) Close() error { return m.conn.CloseNow() }
