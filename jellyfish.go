package jellyfish

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/jellyfish-go/jellyfish/rtc"
	"github.com/jellyfish-go/jellyfish/rtc/turn"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// ErrEngineClosed is returned by the methods of an engine after Close.
var ErrEngineClosed = errors.New("engine closed")

// Engine owns rooms: it creates, finds and deletes them, signs peer tokens and publishes every
// room's events. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	tokens tokenSigner
	events *eventHub
	start  time.Time

	mediaMu sync.Mutex
	media   *rtc.API     // opened by startMedia; nil before and when WebRTC is disabled
	turn    *turn.Server // likewise

	mu         sync.Mutex
	closed     bool
	rooms      map[string]*Room
	order      []string       // room ids in creation order, for stable listings
	wg         sync.WaitGroup // running timer callbacks
	background sync.WaitGroup // ComponentMember.Go work
	bgMu       sync.Mutex
	bgClosed   bool // Close is waiting for background: new work runs in its caller
}

// New returns an engine configured by cfg (whose zero value works).
func New(cfg Config) (*Engine, error) {
	if cfg.PeerTokenTTL < 0 {
		return nil, fmt.Errorf("jellyfish: negative PeerTokenTTL %v", cfg.PeerTokenTTL)
	}
	cfg = cfg.withDefaults()
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		tokens: newTokenSigner(cfg.PeerTokenSecret, cfg.PeerTokenTTL),
		events: newEventHub(),
		start:  time.Now(),
		rooms:  map[string]*Room{},
	}
	return e, nil
}

// StartMedia opens the media sockets and the integrated TURN server now rather than when the
// first peer negotiates, so that a port conflict shows at startup. It is idempotent; the
// standalone server calls it. Error: ErrWebRTCDisabled, ErrEngineClosed, or a socket error.
func (e *Engine) StartMedia() error {
	_, err := e.startMedia()
	return err
}

// startMedia opens the media plane once (lazily: an engine used only for its control plane, or
// by timer tests in a synctest bubble, opens no socket).
func (e *Engine) startMedia() (*rtc.API, error) {
	if e.cfg.WebRTCDisabled {
		return nil, ErrWebRTCDisabled
	}
	e.mediaMu.Lock()
	defer e.mediaMu.Unlock()
	if e.media != nil {
		return e.media, nil
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrEngineClosed
	}
	cfg := e.cfg
	mcfg := cfg.Media
	if mcfg.Logger == nil {
		mcfg.Logger = cfg.Logger
	}
	media, err := rtc.NewAPI(mcfg)
	if err != nil {
		return nil, err
	}
	tcfg := cfg.TURN
	if tcfg.Logger == nil {
		tcfg.Logger = cfg.Logger
	}
	// Never an open relay: only to our own media sockets.
	tcfg.AllowPeer = media.IsMediaAddr
	tcfg.AllowPeerIP = func(ip netip.Addr) bool { return media.IsMediaAddr(netip.AddrPortFrom(ip, media.UDPAddr().Port())) }
	ts, err := turn.New(tcfg)
	if err != nil {
		media.Close()
		return nil, fmt.Errorf("integrated TURN server: %w", err)
	}
	e.media, e.turn = media, ts
	e.log.Info("media plane started", "ice_udp", media.UDPAddr(), "turn_udp", ts.UDPAddr(), "turn_tcp", ts.TCPAddr())
	return media, nil
}

// turnServers lists the integrated TURN servers, with fresh credentials, for a peer's offerData.
// The media plane is started (sessions call it after ensureConn).
func (e *Engine) turnServers(peerID string) []wire.TurnServer {
	e.mediaMu.Lock()
	ts := e.turn
	e.mediaMu.Unlock()
	if ts == nil {
		return []wire.TurnServer{}
	}
	entries := ts.Servers(peerID)
	out := make([]wire.TurnServer, 0, len(entries))
	for _, t := range entries {
		out = append(out, wire.TurnServer{ServerAddr: t.ServerAddr, ServerPort: t.ServerPort, Transport: t.Transport, Username: t.Username, Password: t.Password})
	}
	return out
}

// WebRTCTraffic returns the bytes received and sent by the media plane's ICE socket since it
// started (zero before that).
func (e *Engine) WebRTCTraffic() (in, out uint64) {
	e.mediaMu.Lock()
	defer e.mediaMu.Unlock()
	if e.media == nil {
		return 0, 0
	}
	return e.media.Traffic()
}

// MediaAddr returns the address of the shared ICE UDP socket (zero before the media plane
// started, and when WebRTC is disabled).
func (e *Engine) MediaAddr() netip.AddrPort {
	e.mediaMu.Lock()
	defer e.mediaMu.Unlock()
	if e.media == nil {
		return netip.AddrPort{}
	}
	return e.media.UDPAddr()
}

// Uptime returns how long the engine has been running.
func (e *Engine) Uptime() time.Duration { return time.Since(e.start) }

// CreateRoom creates a room. Invalid options give a *ValidationError whose message is
// Jellyfish's; a taken id gives an error matching both ErrRoomExists and *ValidationError.
// Event: RoomCreated.
func (e *Engine) CreateRoom(cfg RoomConfig) (*Room, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrEngineClosed
	}
	if _, ok := e.rooms[cfg.RoomID]; ok {
		return nil, errors.Join(ErrRoomExists, invalid(MsgRoomExists, cfg.RoomID))
	}
	r := &Room{id: cfg.RoomID, cfg: cfg, engine: e, log: e.log.With("room", cfg.RoomID)}
	e.rooms[r.id] = r
	e.order = append(e.order, r.id)
	// Published under e.mu, before anyone can find the room: RoomCreated comes first.
	e.events.publish(RoomCreated{RoomID: r.id, Config: r.Config()})
	r.mu.Lock()
	r.resetPeerlessUnlocked()
	r.mu.Unlock()
	r.log.Info("room created", "maxPeers", fmtLimit(cfg.MaxPeers), "videoCodec", cfg.VideoCodec)
	return r, nil
}

func fmtLimit(n *int) any {
	if n == nil {
		return "unlimited"
	}
	return *n
}

// Room returns the room with the given id, or ErrRoomNotFound (ErrEngineClosed after Close).
func (e *Engine) Room(id string) (*Room, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrEngineClosed
	}
	if r, ok := e.rooms[id]; ok {
		return r, nil
	}
	return nil, ErrRoomNotFound
}

// Rooms returns every room, in creation order.
func (e *Engine) Rooms() []*Room {
	e.mu.Lock()
	defer e.mu.Unlock()
	rooms := make([]*Room, 0, len(e.order))
	for _, id := range e.order {
		rooms = append(rooms, e.rooms[id])
	}
	return rooms
}

// DeleteRoom ends a room: its peers are removed (connected ones see their transport closed with
// ReasonRoomStopped) and RoomDeleted fires. Error: ErrRoomNotFound.
func (e *Engine) DeleteRoom(id string) error {
	r, err := e.Room(id)
	if err != nil {
		return err
	}
	if !e.deleteRoom(r) {
		return ErrRoomNotFound
	}
	return nil
}

// deleteRoom removes r if it is still registered; it reports whether it did.
func (e *Engine) deleteRoom(r *Room) bool {
	e.mu.Lock()
	if e.rooms[r.id] != r {
		e.mu.Unlock()
		return false
	}
	delete(e.rooms, r.id)
	for i, id := range e.order {
		if id == r.id {
			e.order = append(e.order[:i], e.order[i+1:]...)
			break
		}
	}
	// Under e.mu, so that a room created again with the same id cannot announce itself before
	// this one's RoomDeleted.
	r.mu.Lock()
	transports, sessions, components := r.stopUnlocked()
	r.mu.Unlock()
	e.mu.Unlock()
	for _, t := range transports {
		t.Close(ReasonRoomStopped)
	}
	closeSessions(sessions)
	var wg sync.WaitGroup
	for _, m := range components {
		wg.Go(m.stop)
	}
	wg.Wait()
	r.log.Info("room deleted")
	return true
}

// closeSessions closes sessions in parallel and waits (each waits for its PeerConnection).
func closeSessions(sessions []*mediaSession) {
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(s.close)
	}
	wg.Wait()
}

// ConnectPeer authenticates a peer's client by its token and attaches transport t to the peer.
// Errors, in the order they are checked: ErrInvalidToken, ErrExpiredToken, ErrRoomNotFound,
// ErrPeerNotFound, ErrPeerAlreadyConnected. Event: PeerConnected.
func (e *Engine) ConnectPeer(token string, t PeerTransport) (*Peer, error) {
	roomID, peerID, err := e.tokens.verify(token)
	if err != nil {
		return nil, err
	}
	r, err := e.Room(roomID)
	if err != nil {
		return nil, err
	}
	return r.connectPeer(peerID, t)
}

// VerifyPeerToken checks a peer token and returns the room and peer it was issued for.
// Errors: ErrInvalidToken, ErrExpiredToken.
func (e *Engine) VerifyPeerToken(token string) (roomID, peerID string, err error) {
	return e.tokens.verify(token)
}

// Subscribe returns a subscription to the events of every room. buffer is how many events it
// may fall behind before it is dropped (0: Config.EventBuffer).
func (e *Engine) Subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = e.cfg.EventBuffer
	}
	return e.events.subscribe(buffer)
}

// Close deletes every room (RoomDeleted fires for each), waits for the engine's timer callbacks
// and ends every subscription with ErrEngineClosed. It is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	rooms := make([]*Room, 0, len(e.order))
	for _, id := range e.order {
		rooms = append(rooms, e.rooms[id])
	}
	e.mu.Unlock()
	for _, r := range rooms {
		e.deleteRoom(r)
	}
	e.wg.Wait()
	e.bgMu.Lock()
	e.bgClosed = true
	e.bgMu.Unlock()
	e.background.Wait() // component work that outlives rooms (uploads), which may still emit
	e.events.close()
	e.mediaMu.Lock()
	defer e.mediaMu.Unlock()
	if e.media != nil {
		e.turn.Close()
		e.media.Close()
	}
	return nil
}

// afterFunc is time.AfterFunc whose callback Close waits for, and which does not run once the
// engine is closed.
func (e *Engine) afterFunc(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return
		}
		e.wg.Add(1)
		e.mu.Unlock()
		defer e.wg.Done()
		f()
	})
}

// goBackground runs f on a goroutine Close waits for; once Close waits, f runs in the caller
// (a WaitGroup must not grow while it is waited for).
func (e *Engine) goBackground(f func()) {
	e.bgMu.Lock()
	if e.bgClosed {
		e.bgMu.Unlock()
		f()
		return
	}
	e.background.Add(1)
	e.bgMu.Unlock()
	go func() {
		defer e.background.Done()
		f()
	}()
}
