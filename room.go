package jellyfish

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Room errors.
var (
	ErrRoomNotFound = errors.New("room not found")
	ErrRoomExists   = errors.New("room already exists")
)

// RoomInfo is a snapshot of a room.
type RoomInfo struct {
	ID         string
	Config     RoomConfig
	Peers      []PeerInfo
	Components []ComponentInfo
}

// Room is a set of peers and components that exchange media. It is safe for concurrent use.
// Its state is guarded by mu; events are published under mu (without blocking) so that they
// keep the order in which things happened, and transports are closed after mu is released.
type Room struct {
	id     string
	cfg    RoomConfig
	engine *Engine
	log    *slog.Logger

	mu         sync.Mutex
	closed     bool
	peers      []*Peer // in the order they were added
	components []*ComponentMember
	stopping   []*ComponentMember // left the room, still stopping (their output may still be written)
	addMu      sync.Mutex         // serializes component additions (a factory checks per-room limits)
	connected  int                // peers with a transport
	purge      *time.Timer        // peerlessPurgeTimeout countdown; nil when not counting
	purgeGen   uint64             // invalidates a countdown that fired while being replaced
}

// ID returns the room's id.
func (r *Room) ID() string { return r.id }

// Config returns the configuration the room was created with (with its id filled in).
func (r *Room) Config() RoomConfig {
	c := r.cfg
	if c.MaxPeers != nil {
		c.MaxPeers = Limit(*c.MaxPeers)
	}
	return c
}

// Info returns a snapshot of the room, its peers and its components.
func (r *Room) Info() RoomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := RoomInfo{ID: r.id, Config: r.Config(), Peers: []PeerInfo{}, Components: []ComponentInfo{}}
	for _, p := range r.peers {
		info.Peers = append(info.Peers, p.infoUnlocked())
	}
	for _, c := range r.components {
		info.Components = append(info.Components, c.infoUnlocked())
	}
	return info
}

// AddPeer adds a WebRTC peer and returns it with the token its client presents on the peer
// socket. Errors: ErrRoomNotFound (the room ended), ErrPeerLimit, ErrWebRTCDisabled.
func (r *Room) AddPeer(opts PeerOptions) (*Peer, string, error) {
	if r.engine.cfg.WebRTCDisabled {
		return nil, "", ErrWebRTCDisabled
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, "", ErrRoomNotFound
	}
	if r.cfg.MaxPeers != nil && len(r.peers) >= *r.cfg.MaxPeers {
		return nil, "", fmt.Errorf("room %s: %w", r.id, ErrPeerLimit)
	}
	p := &Peer{id: newUUID(), room: r, opts: opts}
	r.peers = append(r.peers, p)
	r.emitUnlocked(PeerAdded{RoomID: r.id, PeerID: p.id})
	p.armDisconnectTimerUnlocked()
	r.resetPeerlessUnlocked()
	r.log.Info("peer added", "peer", p.id)
	return p, r.engine.tokens.sign(r.id, p.id), nil
}

// Peer returns the peer with the given id, or ErrPeerNotFound.
func (r *Room) Peer(id string) (*Peer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomNotFound
	}
	if p := r.findPeerUnlocked(id); p != nil {
		return p, nil
	}
	return nil, ErrPeerNotFound
}

// RemovePeer removes a peer. A connected peer's transport is closed with ReasonPeerRemoved.
// Events: TrackRemoved for each track, PeerDisconnected if it was connected, PeerDeleted.
// Errors: ErrRoomNotFound, ErrPeerNotFound.
func (r *Room) RemovePeer(id string) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrRoomNotFound
	}
	p := r.findPeerUnlocked(id)
	if p == nil {
		r.mu.Unlock()
		return ErrPeerNotFound
	}
	t, s := r.removePeerUnlocked(p)
	r.mu.Unlock()
	if t != nil {
		t.Close(ReasonPeerRemoved)
	}
	if s != nil {
		s.close()
	}
	return nil
}

// removePeerUnlocked expects r.mu to be held; it returns the transport and the session to close
// after unlocking.
func (r *Room) removePeerUnlocked(p *Peer) (PeerTransport, *mediaSession) {
	t := p.transport
	s := p.leaveUnlocked()
	if t != nil {
		p.transport = nil
		r.connected--
		r.emitUnlocked(PeerDisconnected{RoomID: r.id, PeerID: p.id})
	}
	p.removed = true
	p.stopDisconnectTimerUnlocked()
	r.peers = slices.DeleteFunc(r.peers, func(q *Peer) bool { return q == p })
	r.emitUnlocked(PeerDeleted{RoomID: r.id, PeerID: p.id})
	r.resetPeerlessUnlocked()
	r.log.Info("peer removed", "peer", p.id)
	return t, s
}

// connectPeer attaches transport t to the peer with the given id.
func (r *Room) connectPeer(peerID string, t PeerTransport) (*Peer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomNotFound
	}
	p := r.findPeerUnlocked(peerID)
	if p == nil {
		return nil, ErrPeerNotFound
	}
	if p.transport != nil {
		return nil, ErrPeerAlreadyConnected
	}
	p.transport = t
	p.session = newMediaSession(p, t)
	r.connected++
	p.stopDisconnectTimerUnlocked()
	r.stopPurgeUnlocked()
	r.emitUnlocked(PeerConnected{RoomID: r.id, PeerID: p.id})
	r.log.Info("peer connected", "peer", p.id)
	return p, nil
}

// isClosed reports whether the room was deleted.
func (r *Room) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// findPeerUnlocked expects r.mu to be held.
func (r *Room) findPeerUnlocked(id string) *Peer {
	for _, p := range r.peers {
		if p.id == id {
			return p
		}
	}
	return nil
}

// emitUnlocked publishes ev; r.mu must be held so that the room's events keep their order.
func (r *Room) emitUnlocked(ev Event) { r.engine.events.publish(ev) }

// resetPeerlessUnlocked restarts the peerless purge countdown when no peer is connected, as
// Jellyfish does whenever the set of peers changes; r.mu must be held.
func (r *Room) resetPeerlessUnlocked() {
	d := r.cfg.PeerlessPurgeTimeout
	if d <= 0 || r.connected > 0 || r.closed {
		return
	}
	r.stopPurgeUnlocked()
	gen := r.purgeGen
	r.purge = r.engine.afterFunc(d, func() { r.purgeTimeout(gen) })
}

// stopPurgeUnlocked expects r.mu to be held.
func (r *Room) stopPurgeUnlocked() {
	if r.purge != nil {
		r.purge.Stop()
		r.purge = nil
	}
	r.purgeGen++
}

func (r *Room) purgeTimeout(gen uint64) {
	r.mu.Lock()
	stale := r.closed || r.connected > 0 || r.purgeGen != gen
	r.mu.Unlock()
	if stale {
		return
	}
	r.log.Info("deleting room that has been peerless for too long", "timeout", r.cfg.PeerlessPurgeTimeout)
	r.engine.deleteRoom(r)
}

// stopUnlocked ends the room: it emits the deletion sequence of Jellyfish (per peer its
// TrackRemoved events and PeerDeleted, per component its TrackRemoved events, then RoomDeleted)
// and returns the transports, sessions and components to close once r.mu is released. r.mu must be held.
func (r *Room) stopUnlocked() ([]PeerTransport, []*mediaSession, []*ComponentMember) {
	if r.closed {
		return nil, nil, nil
	}
	var transports []PeerTransport
	var sessions []*mediaSession
	for _, p := range r.peers {
		p.dropTracksUnlocked()
		p.ready = false // nobody is left to be told
		if p.session != nil {
			sessions = append(sessions, p.session)
			p.session = nil
		}
		if p.transport != nil {
			transports = append(transports, p.transport)
			p.transport = nil
		}
		p.removed = true
		p.stopDisconnectTimerUnlocked()
		r.emitUnlocked(PeerDeleted{RoomID: r.id, PeerID: p.id})
	}
	components := slices.Clone(r.components)
	for _, m := range components {
		r.leaveComponentUnlocked(m)
	}
	r.peers, r.components, r.connected = nil, nil, 0
	r.stopPurgeUnlocked()
	r.closed = true
	r.emitUnlocked(RoomDeleted{RoomID: r.id})
	return transports, sessions, components
}
