package sapidouble

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// wantsWebSocket reports whether a subscribe request asks for the
// WebSocket transport (X-Atmosphere-Transport=websocket, as a query
// parameter or header).
func wantsWebSocket(r *http.Request) bool {
	return strings.EqualFold(atmosphereParam(r, "X-Atmosphere-Transport"), "websocket")
}

// serveWebSocket upgrades the request and writes the subscription's events
// as WebSocket text messages, one event per message, in the requested
// format (with its "<len>|" prefix when asked), until the stream ends like
// an HTTP stream does. No 2048-space padding is sent: Atmosphere pads only
// streaming and long-polling responses. A clean end closes with status
// 1000 (1001 on Shutdown); Reset drops the TCP connection with a RST and
// no close frame. A request without a WebSocket upgrade gets the library's
// 426 answer.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, tenant string, sub *subscription, st *stream, format outputFormat, trackSize bool) {
	capture := &hijackCapture{ResponseWriter: w}
	conn, err := websocket.Accept(capture, r, nil)
	if err != nil {
		s.log.Warn("websocket upgrade failed", "tenant", tenant, "error", err)
		return
	}
	out := &webSocketWriter{renderer: renderer{format: format, trackSize: trackSize}, conn: conn, lastWrite: time.Now()}
	streamNo := s.openStream()
	// The client never sends data; CloseRead handles its control frames and
	// says when it is gone.
	gone := conn.CloseRead(context.Background())
	s.pump(tenant, sub, st, out, s.openingHandshake(r, out.renderer, streamNo), gone.Done())
	switch {
	case st.reset.Load():
		if tcp, ok := capture.conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = conn.CloseNow()
	case s.isStopped():
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
	default:
		_ = conn.Close(websocket.StatusNormalClosure, "")
	}
}

// isStopped reports whether Shutdown has begun.
func (s *Server) isStopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// webSocketWriter sends rendered items as text messages.
type webSocketWriter struct {
	renderer
	conn      *websocket.Conn
	lastWrite time.Time
}

func (o *webSocketWriter) write(batch []item) error {
	for _, it := range batch {
		msg, err := o.render(it)
		if err != nil {
			return err
		}
		if err := o.writeRaw(msg); err != nil {
			return err
		}
	}
	return nil
}

// writeRaw sends b as one text message; nothing for an empty b.
func (o *webSocketWriter) writeRaw(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := o.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	o.lastWrite = time.Now()
	return nil
}

func (o *webSocketWriter) idleFor() time.Duration { return time.Since(o.lastWrite) }

// hijackCapture keeps the connection the WebSocket library hijacks, so
// Reset can abort it with a RST.
type hijackCapture struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack implements http.Hijacker.
func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = conn
	return conn, rw, err
}
