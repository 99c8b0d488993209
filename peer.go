package jellyfish

import (
	"encoding/json"
	"errors"
	"time"
)

// Peer errors.
var (
	ErrPeerNotFound         = errors.New("peer not found")
	ErrPeerAlreadyConnected = errors.New("peer already connected")
	ErrPeerLimit            = errors.New("reached peer limit")
	ErrWebRTCDisabled       = errors.New("webrtc peers are disabled on this server")
)

// PeerType is the kind of a peer. Jellyfish v0.5.0 has only WebRTC peers.
type PeerType string

// PeerTypeWebRTC is a client connected over WebRTC.
const PeerTypeWebRTC PeerType = "webrtc"

// PeerStatus tells whether a peer's client is connected.
type PeerStatus string

// Peer statuses.
const (
	PeerStatusConnected    PeerStatus = "connected"
	PeerStatusDisconnected PeerStatus = "disconnected"
)

// PeerOptions are the options of a WebRTC peer. The zero value is Jellyfish's default.
type PeerOptions struct {
	// DisableSimulcast refuses simulcast from this peer (REST: enableSimulcast=false).
	// Default: simulcast enabled.
	DisableSimulcast bool
}

// DisconnectReason tells a PeerTransport why the server closes it.
type DisconnectReason int

// Disconnect reasons.
const (
	// ReasonPeerRemoved: the peer was removed from its room.
	ReasonPeerRemoved DisconnectReason = iota + 1
	// ReasonRoomStopped: the peer's room ended.
	ReasonRoomStopped
	// ReasonInternalError: the server failed.
	ReasonInternalError
)

// PeerTransport is how a peer's client is reached: the signaling layer implements it for the
// peer WebSocket; an embedder can implement it for any other transport.
type PeerTransport interface {
	// SendMediaEvent queues a media event (JSON text) for the client. It must not block.
	SendMediaEvent(data string)
	// Close ends the transport for the given reason. It must not block, and it must not call
	// back into the Peer.
	Close(reason DisconnectReason)
}

// PeerInfo is a snapshot of a peer.
type PeerInfo struct {
	ID     string
	Type   PeerType
	Status PeerStatus
	// Metadata is the JSON value the client set; nil means JSON null.
	Metadata json.RawMessage
	Tracks   []Track
	Options  PeerOptions
}

// Peer is a member of a room that a client drives over a PeerTransport. It is safe for
// concurrent use; its state is guarded by its room's mutex.
type Peer struct {
	id   string
	room *Room
	opts PeerOptions

	// guarded by room.mu
	removed       bool
	transport     PeerTransport // nil while disconnected
	session       *mediaSession // the connection of transport; nil while disconnected
	ready         bool          // the client sent connect: other endpoints know this peer
	metadata      json.RawMessage
	published     []*roomTrack
	timer         *time.Timer // peerDisconnectedTimeout; nil when unset or connected
	disconnectGen uint64      // invalidates a timer that fired while being replaced
}

// ID returns the peer's id (a UUID).
func (p *Peer) ID() string { return p.id }

// Room returns the room the peer belongs (or belonged) to.
func (p *Peer) Room() *Room { return p.room }

// Info returns a snapshot of the peer.
func (p *Peer) Info() PeerInfo {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.infoUnlocked()
}

// infoUnlocked expects room.mu to be held.
func (p *Peer) infoUnlocked() PeerInfo {
	status := PeerStatusDisconnected
	if p.transport != nil {
		status = PeerStatusConnected
	}
	tracks := make([]Track, 0, len(p.published))
	for _, t := range p.published {
		tracks = append(tracks, t.infoUnlocked())
	}
	return PeerInfo{
		ID: p.id, Type: PeerTypeWebRTC, Status: status, Options: p.opts,
		Metadata: p.metadata, Tracks: tracks,
	}
}

// CloseConnection closes the peer's current transport as a failure would
// (ReasonInternalError), without removing the peer: its client sees a broken connection and may
// reconnect with the same token. It reports whether the peer was connected.
func (p *Peer) CloseConnection() bool {
	p.room.mu.Lock()
	t := p.transport
	p.room.mu.Unlock()
	if t == nil {
		return false
	}
	t.Close(ReasonInternalError) // the transport then calls Disconnect
	return true
}

// HandleMediaEvent hands a media event (JSON text) from the client on transport t to the peer's
// session. It never blocks; events of a transport that is no longer the peer's are dropped.
func (p *Peer) HandleMediaEvent(t PeerTransport, data string) {
	p.room.mu.Lock()
	s := p.session
	if p.transport != t {
		s = nil
	}
	p.room.mu.Unlock()
	if s != nil {
		s.post(func() { s.handleMediaEvent(data) })
	}
}

// Disconnect tells the peer that transport t went away (the client closed its socket, or the
// socket failed). The peer stays in the room as disconnected, its tracks are removed, and the
// PeerDisconnected and TrackRemoved events fire. It does nothing if t is not the peer's current
// transport, so a late call from an old socket cannot disconnect a newer one.
func (p *Peer) Disconnect(t PeerTransport) {
	r := p.room
	r.mu.Lock()
	if p.removed || p.transport == nil || p.transport != t {
		r.mu.Unlock()
		return
	}
	p.transport = nil
	r.connected--
	r.emitUnlocked(PeerDisconnected{RoomID: r.id, PeerID: p.id})
	s := p.leaveUnlocked()
	p.armDisconnectTimerUnlocked()
	r.resetPeerlessUnlocked()
	r.mu.Unlock()
	if s != nil {
		s.close()
	}
}

// leaveUnlocked ends the peer's presence in the media plane: its tracks are removed (TrackRemoved)
// and the other ready endpoints are told (tracksRemoved, endpointRemoved). It returns the session
// to close once room.mu is released. room.mu must be held.
func (p *Peer) leaveUnlocked() *mediaSession {
	r := p.room
	ids := make([]string, 0, len(p.published))
	for _, t := range p.published {
		ids = append(ids, t.id)
	}
	p.dropTracksUnlocked()
	if p.ready {
		r.postToOthersUnlocked(p, func(qs *mediaSession) { qs.endpointLeft(p.id, ids) })
	}
	p.ready = false
	s := p.session
	p.session = nil
	return s
}

// dropTracksUnlocked expects room.mu to be held.
func (p *Peer) dropTracksUnlocked() {
	for _, t := range p.published {
		p.room.emitUnlocked(TrackRemoved{RoomID: p.room.id, PeerID: p.id, Track: t.infoUnlocked()})
		p.room.dropFromSinksUnlocked(t)
	}
	p.published = nil
}

// armDisconnectTimerUnlocked starts the peerDisconnectedTimeout countdown; room.mu must be held.
func (p *Peer) armDisconnectTimerUnlocked() {
	d := p.room.cfg.PeerDisconnectedTimeout
	if d <= 0 {
		return
	}
	p.stopDisconnectTimerUnlocked()
	p.disconnectGen++
	gen := p.disconnectGen
	p.timer = p.room.engine.afterFunc(d, func() { p.disconnectTimeout(gen) })
}

// stopDisconnectTimerUnlocked expects room.mu to be held.
func (p *Peer) stopDisconnectTimerUnlocked() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.disconnectGen++
}

func (p *Peer) disconnectTimeout(gen uint64) {
	r := p.room
	r.mu.Lock()
	if r.closed || p.removed || p.transport != nil || p.disconnectGen != gen {
		r.mu.Unlock()
		return
	}
	r.log.Info("removing peer disconnected for too long", "peer", p.id, "timeout", r.cfg.PeerDisconnectedTimeout)
	r.removePeerUnlocked(p) // disconnected: no transport, no session
	r.mu.Unlock()
}
