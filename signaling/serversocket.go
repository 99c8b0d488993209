package signaling

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// serverReadLimit bounds one inbound server-socket frame; clients only send tiny requests.
const serverReadLimit = 64 << 10

// ServerHandler serves the server socket (/socket/server/websocket): a backend authenticates
// with the server API token, subscribes to notifications and/or metrics, and receives them as
// protobuf ServerMessages. Each socket has one reader (the HTTP handler's goroutine) and one
// writer goroutine, which also owns the socket's event subscription.
type ServerHandler struct {
	engine *jellyfish.Engine
	token  [sha256.Size]byte
	opts   Options
	reg    registry
}

// NewServerHandler returns the server socket handler for engine e, authenticating with token.
func NewServerHandler(e *jellyfish.Engine, token string, opts Options) *ServerHandler {
	return &ServerHandler{engine: e, token: sha256.Sum256([]byte(token)), opts: opts.withDefaults()}
}

// Close closes every server socket (1001) and waits for their goroutines.
func (h *ServerHandler) Close() { h.reg.close() }

func marshalServer(m *wire.ServerMessage) []byte {
	b, _ := proto.Marshal(m)
	return b
}

var serverAuthenticatedFrame = marshalServer(&wire.ServerMessage{Content: &wire.ServerMessage_Authenticated_{Authenticated: &wire.ServerMessage_Authenticated{}}})

// ServeHTTP upgrades the request and runs the session until the socket ends.
func (h *ServerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.reg.serve(w, r, h.opts, serverReadLimit, func(ctx context.Context, s *socket) {
		if !h.authenticate(ctx, s) {
			return
		}
		s.log.Info("server socket authenticated")
		subscribe := make(chan wire.ServerMessage_EventType, 2)
		runLoops(ctx,
			func(ctx context.Context) { h.readLoop(ctx, s, subscribe) },
			func(ctx context.Context) { h.writeLoop(ctx, s, subscribe) })
		s.log.Info("server socket closed")
	})
}

func (h *ServerHandler) authenticate(ctx context.Context, s *socket) bool {
	actx, cancel := context.WithTimeout(ctx, s.opts.AuthTimeout)
	typ, data, err := s.conn.Read(actx)
	cancel()
	if err != nil {
		s.closeWith(closeNormal, "invalid auth request")
		return false
	}
	s.seen()
	if typ != websocket.MessageBinary {
		s.closeWith(closeUnsupported, "operation not allowed")
		return false
	}
	msg := decodeServerFrame(typ, data)
	if msg.GetAuthRequest() == nil {
		s.closeWith(closeNormal, "invalid auth request")
		return false
	}
	got := sha256.Sum256([]byte(msg.GetAuthRequest().GetToken()))
	if subtle.ConstantTimeCompare(got[:], h.token[:]) != 1 {
		s.log.Info("server socket refused: invalid token")
		s.closeWith(closeNormal, "invalid token")
		return false
	}
	s.out <- serverAuthenticatedFrame
	return true
}

// readLoop accepts subscribe requests; anything else ends the socket as Jellyfish does.
func (h *ServerHandler) readLoop(ctx context.Context, s *socket, subscribe chan<- wire.ServerMessage_EventType) {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		s.seen()
		msg := decodeServerFrame(typ, data)
		if msg.GetSubscribeRequest() == nil {
			s.requestClose(closeUnsupported, "operation not allowed")
			continue // keep reading so that the close handshake completes
		}
		switch et := msg.GetSubscribeRequest().GetEventType(); et {
		case wire.ServerMessage_EVENT_TYPE_SERVER_NOTIFICATION, wire.ServerMessage_EVENT_TYPE_METRICS:
			select {
			case subscribe <- et:
			case <-s.closing:
			case <-ctx.Done():
				return
			}
		default: // Jellyfish crashes the handler here (1011); we say what was wrong
			s.requestClose(closeUnsupported, "invalid event type")
		}
	}
}

// writeLoop is the socket's only writer. It owns the event subscription and the metrics timer,
// so a notification can never overtake the subscribe response that announces it.
func (h *ServerHandler) writeLoop(ctx context.Context, s *socket, subscribe <-chan wire.ServerMessage_EventType) {
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	var (
		sub     *jellyfish.Subscription
		events  <-chan jellyfish.Event // nil until subscribed
		metrics *time.Ticker
		tick    <-chan time.Time // nil until subscribed
	)
	defer func() {
		if sub != nil {
			sub.Close()
		}
		if metrics != nil {
			metrics.Stop()
		}
	}()
	send := func(frame []byte) bool {
		if err := s.write(ctx, frame); err != nil {
			s.conn.CloseNow()
			return false
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			s.conn.Close(s.code, s.reason)
			return
		case frame := <-s.out:
			if !send(frame) {
				return
			}
		case et := <-subscribe:
			if et == wire.ServerMessage_EVENT_TYPE_SERVER_NOTIFICATION && sub == nil {
				sub = h.engine.Subscribe(0)
				events = sub.Events()
			}
			if et == wire.ServerMessage_EVENT_TYPE_METRICS && metrics == nil {
				metrics = time.NewTicker(s.opts.MetricsInterval)
				tick = metrics.C
			}
			resp := &wire.ServerMessage{Content: &wire.ServerMessage_SubscribeResponse_{
				SubscribeResponse: &wire.ServerMessage_SubscribeResponse{EventType: et}}}
			if !send(marshalServer(resp)) {
				return
			}
		case ev, ok := <-events:
			if !ok {
				if errors.Is(sub.Err(), jellyfish.ErrSlowSubscriber) {
					s.log.Warn("server socket too slow for notifications; closing")
					s.conn.Close(closeTooSlow, "too slow")
				} else {
					s.conn.Close(closeGoingAway, "server shutting down")
				}
				return
			}
			if m := Notification(ev); m != nil && !send(marshalServer(m)) {
				return
			}
		case <-tick:
			report := &wire.ServerMessage{Content: &wire.ServerMessage_MetricsReport_{
				MetricsReport: &wire.ServerMessage_MetricsReport{Metrics: MetricsReport(h.engine)}}}
			if !send(marshalServer(report)) {
				return
			}
		case <-ping.C:
			if !s.pingOrIdle(ctx) {
				return
			}
		}
	}
}
