package signaling

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/ratelog"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// peerReadLimit bounds one inbound peer frame; SDP offers with simulcast are a few tens of KB.
const peerReadLimit = 1 << 20

// PeerConnector attaches an authenticated client to its peer; *jellyfish.Engine implements it.
type PeerConnector interface {
	ConnectPeer(token string, t jellyfish.PeerTransport) (*jellyfish.Peer, error)
}

// PeerHandler serves the peer socket (/socket/peer/websocket): protobuf PeerMessages in binary
// frames, an AuthRequest first, then media events both ways. Each socket has one reader (the
// HTTP handler's goroutine) and one writer goroutine; Close ends them all and waits.
type PeerHandler struct {
	peers PeerConnector
	opts  Options
	reg   registry
}

// NewPeerHandler returns the peer socket handler for peers.
func NewPeerHandler(peers PeerConnector, opts Options) *PeerHandler {
	return &PeerHandler{peers: peers, opts: opts.withDefaults()}
}

// Close closes every peer socket (1001) and waits for their goroutines.
func (h *PeerHandler) Close() { h.reg.close() }

// peerSession is one authenticated (or authenticating) peer socket; it is the peer's
// jellyfish.PeerTransport.
type peerSession struct {
	*socket
	peer *jellyfish.Peer
	warn ratelog.Logger
}

var authenticatedFrame, _ = proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_Authenticated_{Authenticated: &wire.PeerMessage_Authenticated{}}})

// ServeHTTP upgrades the request and runs the session until the socket ends.
func (h *PeerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.reg.serve(w, r, h.opts, peerReadLimit, func(ctx context.Context, sock *socket) {
		s := &peerSession{socket: sock}
		s.warn.Log = sock.log
		if !s.authenticate(ctx, h.peers) {
			return
		}
		runLoops(ctx, s.readLoop, s.writeLoop)
		s.peer.Disconnect(s)
		s.log.Info("peer socket closed")
	})
}

// authenticate reads the first frame, which must be an AuthRequest with a valid token, and
// attaches the session to its peer. On failure it closes the socket with Jellyfish's reason.
func (s *peerSession) authenticate(ctx context.Context, peers PeerConnector) bool {
	actx, cancel := context.WithTimeout(ctx, s.opts.AuthTimeout)
	typ, data, err := s.conn.Read(actx)
	cancel()
	if err != nil {
		s.closeWith(closeNormal, "unauthenticated")
		return false
	}
	s.seen()
	msg := decodePeerFrame(typ, data)
	if msg.GetAuthRequest() == nil {
		s.closeWith(closeNormal, "unauthenticated")
		return false
	}
	// Queued before the peer is attached, so that it precedes any media event the room sends.
	s.out <- authenticatedFrame
	peer, err := peers.ConnectPeer(msg.GetAuthRequest().GetToken(), s)
	if err != nil {
		s.log.Info("peer socket refused", "reason", authFailure(err))
		s.closeWith(closeNormal, authFailure(err))
		return false
	}
	s.peer = peer
	s.log = s.log.With("room", peer.Room().ID(), "peer", peer.ID())
	s.log.Info("peer socket authenticated")
	return true
}

// authFailure maps a ConnectPeer error to Jellyfish's close reason.
func authFailure(err error) string {
	switch {
	case errors.Is(err, jellyfish.ErrExpiredToken):
		return "expired token"
	case errors.Is(err, jellyfish.ErrRoomNotFound):
		return "room not found"
	case errors.Is(err, jellyfish.ErrPeerNotFound):
		return "peer not found"
	case errors.Is(err, jellyfish.ErrPeerAlreadyConnected):
		return "peer already connected"
	default:
		return "invalid token"
	}
}

// readLoop handles inbound frames until the socket fails or is closed.
func (s *peerSession) readLoop(ctx context.Context) {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		s.seen()
		if typ != websocket.MessageBinary {
			continue // Jellyfish ignores text frames after authentication
		}
		msg := decodePeerFrame(typ, data)
		if msg == nil {
			s.warn.Warn("undecodable peer message ignored", "bytes", len(data))
			continue
		}
		if ev := msg.GetMediaEvent(); ev != nil {
			s.peer.HandleMediaEvent(s, ev.GetData())
		}
		// A repeated AuthRequest or an Authenticated message is ignored, as in Jellyfish.
	}
}

// writeLoop drains the queue, pings, watches for idleness, and performs a requested close.
func (s *peerSession) writeLoop(ctx context.Context) {
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			s.conn.Close(s.code, s.reason)
			return
		case frame := <-s.out:
			if err := s.write(ctx, frame); err != nil {
				s.conn.CloseNow()
				return
			}
		case <-ping.C:
			if !s.pingOrIdle(ctx) {
				return
			}
		}
	}
}

// SendMediaEvent queues a media event for the client (jellyfish.PeerTransport).
func (s *peerSession) SendMediaEvent(data string) {
	frame, _ := proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_MediaEvent_{MediaEvent: &wire.PeerMessage_MediaEvent{Data: data}}})
	s.enqueue(frame)
}

// Close closes the socket for reason (jellyfish.PeerTransport); it does not block.
func (s *peerSession) Close(reason jellyfish.DisconnectReason) {
	switch reason {
	case jellyfish.ReasonPeerRemoved:
		s.requestClose(closeNormal, "Peer removed")
	case jellyfish.ReasonRoomStopped:
		s.requestClose(closeNormal, "Room stopped")
	default:
		s.requestClose(closeInternal, "Internal server error")
	}
}
