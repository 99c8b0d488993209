package jellyfish

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/internal/ratelog"
	"github.com/jellyfish-go/jellyfish/rtc"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// mediaSession is one connection of a peer's client: from the moment its transport is attached
// until it goes away. It speaks the Jellyfish media-event protocol (media-events.md) and owns the
// peer's PeerConnection.
//
// Goroutines: one loop that handles everything in order — the client's media events, work the
// room posts (tracks to subscribe or drop, endpoints joining or leaving) and pion's callbacks —
// so the negotiation state needs no lock. pion's OnTrack goroutines read published streams; they
// are counted in readers. close stops the loop, closes the PeerConnection and waits for all.
type mediaSession struct {
	peer   *Peer
	room   *Room
	engine *Engine
	t      PeerTransport
	log    *slog.Logger

	box  *inbox
	done chan struct{}
	wg   sync.WaitGroup

	// Owned by the loop.
	conn         *rtc.Conn
	connected    bool                     // the client's "connect" was handled
	pubByMid     map[string]*roomTrack    // own published tracks by mid
	subs         map[string]*subscription // received tracks by track id
	recvSlots    map[webrtc.RTPCodecType]int
	inRound      bool                      // offerData sent, its sdpOffer not answered yet
	nextRound    bool                      // another round was asked for during this one
	awaitICE     bool                      // a round was answered: the next waits for ICE (holdRounds)
	iceTimer     *time.Timer               // ends the awaitICE wait after roundICEWait
	iceGen       uint64                    // which holdRounds the running iceTimer belongs to
	unpublished  []*roomTrack              // removed publications, whose readers close waits for
	offerApplied bool                      // the PeerConnection has a remote description
	remoteCands  []webrtc.ICECandidateInit // client candidates waiting for an applied offer
	localCands   []webrtc.ICECandidateInit // our candidates waiting for the round's answer

	// Shared with pion's OnTrack goroutines.
	trackMu  sync.Mutex
	upByMid  map[string]*rtc.UpTrack
	closing  bool
	readers  sync.WaitGroup
	warnings ratelog.Logger
}

// subscription is a track this session's client receives.
type subscription struct {
	track    *roomTrack
	down     *rtc.DownTrack
	attached bool   // given to the PeerConnection
	mid      string // m-line carrying it, once negotiated
	removing bool   // to be detached in the next round
}

func newMediaSession(p *Peer, t PeerTransport) *mediaSession {
	r := p.room
	s := &mediaSession{
		peer: p, room: r, engine: r.engine, t: t,
		log:       r.log.With("peer", p.id),
		box:       newInbox(),
		done:      make(chan struct{}),
		pubByMid:  map[string]*roomTrack{},
		subs:      map[string]*subscription{},
		recvSlots: map[webrtc.RTPCodecType]int{},
		upByMid:   map[string]*rtc.UpTrack{},
	}
	s.warnings.Log = s.log
	s.wg.Go(s.loop)
	return s
}

func (s *mediaSession) loop() {
	for {
		select {
		case <-s.done:
			return
		case <-s.box.notify:
			for _, f := range s.box.drain() {
				f()
			}
		}
	}
}

// post runs f on the session loop.
func (s *mediaSession) post(f func()) {
	if !s.box.post(f) {
		s.warnings.Warn("session inbox full: dropping work")
	}
}

// send encodes a server media event and queues it on the transport.
func (s *mediaSession) send(ev wire.ServerEvent) {
	data, err := wire.EncodeServerEvent(ev)
	if err != nil {
		s.log.Error("encode media event", "err", err)
		return
	}
	s.t.SendMediaEvent(string(data))
}

// close ends the session: the loop stops, the PeerConnection closes (ending every reader of a
// published stream), and every down-track stops. Call it without holding room.mu, never from
// the session's own goroutines.
func (s *mediaSession) close() {
	close(s.done)
	s.wg.Wait()
	if s.iceTimer != nil {
		s.iceTimer.Stop() // a callback already running only posts to the stopped loop
	}
	s.trackMu.Lock()
	s.closing = true
	s.trackMu.Unlock()
	if s.conn != nil {
		if err := s.conn.Close(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
	}
	s.readers.Wait()
	for _, sub := range s.subs {
		sub.down.Close()
	}
	for _, t := range s.pubByMid {
		t.up.Wait()
	}
	for _, t := range s.unpublished {
		t.up.Wait()
	}
}

// ensureConn creates the PeerConnection at the first negotiation round.
func (s *mediaSession) ensureConn() bool {
	if s.conn != nil {
		return true
	}
	media, err := s.engine.startMedia()
	if err != nil {
		s.log.Error("media plane unavailable", "err", err)
		return false
	}
	conn, err := media.NewConn(rtc.ConnConfig{
		VideoCodec: rtc.VideoCodec(s.room.cfg.VideoCodec),
		Logger:     s.log,
		OnCandidate: func(c webrtc.ICECandidateInit) {
			s.post(func() { s.localCandidate(c) })
		},
		OnTrack: s.onTrack,
		OnState: func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateConnected {
				s.post(s.iceConnected)
			}
		},
	})
	if err != nil {
		s.log.Error("create peer connection", "err", err)
		return false
	}
	s.conn = conn
	return true
}

// onTrack runs on pion's goroutine for each incoming stream and reads it until it ends.
func (s *mediaSession) onTrack(mid string, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	s.trackMu.Lock()
	up := s.upByMid[mid]
	if s.closing {
		s.trackMu.Unlock()
		return
	}
	s.readers.Add(1)
	s.trackMu.Unlock()
	defer s.readers.Done()
	if up == nil {
		s.log.Debug("media on an m-line without a track: discarding", "mid", mid)
		buf := make([]byte, 1500)
		for {
			if _, _, err := remote.Read(buf); err != nil {
				return
			}
		}
	}
	up.ReadLayer(remote, receiver, s.conn.WriteRTCP)
}

// handleMediaEvent decodes and handles one event from the client.
func (s *mediaSession) handleMediaEvent(data string) {
	ev, err := wire.DecodeClientEvent([]byte(data))
	if err != nil {
		s.warnings.Warn("invalid media event ignored", "err", err)
		return
	}
	switch ev := ev.(type) {
	case wire.Connect:
		s.handleConnect(ev.Metadata)
	case wire.Disconnect:
		// Jellyfish ignores it too: the peer leaves when its socket closes.
	case wire.UpdateEndpointMetadata:
		s.room.updatePeerMetadata(s.peer, ev.Metadata)
	case wire.UpdateTrackMetadata:
		s.room.updateTrackMetadata(s.peer, ev.TrackID, ev.TrackMetadata)
	case wire.RenegotiateTracks:
		s.requestRound()
	case wire.SDPOffer:
		s.handleOffer(ev)
	case wire.ClientCandidate:
		s.remoteCandidate(ev)
	case wire.EnableTrackEncoding:
		s.room.setEncoding(s.peer, ev.TrackID, ev.Encoding, true)
	case wire.DisableTrackEncoding:
		s.room.setEncoding(s.peer, ev.TrackID, ev.Encoding, false)
	case wire.TrackVariantBitrates, wire.SetTargetTrackVariant:
		// Informational until simulcast layer selection lands: the highest layer is forwarded.
	default:
		s.warnings.Warn("unexpected media event ignored", "type", wire.ClientEventType(ev))
	}
}

// handleConnect makes the peer ready: it answers connected with the room's other ready
// endpoints, announces the peer to them and subscribes to their tracks.
func (s *mediaSession) handleConnect(metadata json.RawMessage) {
	if s.connected {
		return // Jellyfish ignores a second connect
	}
	s.connected = true
	others, tracks := s.room.join(s.peer, s, metadata)
	s.send(wire.Connected{ID: s.peer.id, OtherEndpoints: others})
	s.subscribe(tracks)
}
