package sapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// openWebSocket opens the subscription over WebSocket (the StreamURL in
// its ws(s) form, X-Atmosphere-Transport=websocket) with the same Basic
// credentials. On success the stream reads the messages as one byte
// stream, a newline after each, so the Framer cuts them exactly as it cuts
// HTTP streaming (padding, "X" heartbeats and length prefixes included). A
// refused upgrade is reported like a refused HTTP request: 401/403 are
// unauthorized. Messages are streamed, not read whole, so a message over
// MaxEventBytes costs no more memory than any frame: the Framer rejects it
// and the stream goes on (a limit that ended the connection would make 8x8
// replay the message on every reconnect).
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
	conn.SetReadLimit(-1) // the Framer bounds what is kept of a message
	return &openStream{body: &messageReader{ctx: ctx, conn: conn}, status: resp.StatusCode}, streamResult{}
}

// messageReader reads a WebSocket's text messages as one byte stream, a
// newline after each message, streaming each message rather than reading
// it whole. Binary messages are skipped. A close with status 1000 (normal)
// or 1001 (going away) is the clean end of stream, io.EOF.
type messageReader struct {
	ctx  context.Context
	conn *websocket.Conn
	msg  io.Reader // the text message being read; nil between messages
	// newline: the message just read still owes its newline.
	newline bool
}

// Read implements io.Reader.
func (m *messageReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		switch {
		case m.msg != nil:
			n, err := m.msg.Read(p)
			if errors.Is(err, io.EOF) {
				m.msg, m.newline, err = nil, true, nil
			}
			if n > 0 || err != nil {
				return n, err
			}
		case m.newline:
			m.newline = false
			p[0] = '\n'
			return 1, nil
		default:
			kind, r, err := m.conn.Reader(m.ctx)
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
			if kind != websocket.MessageText {
				if _, err := io.Copy(io.Discard, r); err != nil {
					return 0, err
				}
				continue
			}
			m.msg = r
		}
	}
}

// Close closes the connection at once, without the close handshake.
func (m *messageReader) Close() error { return m.conn.CloseNow() }
