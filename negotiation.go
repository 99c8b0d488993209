package jellyfish

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/rtc"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// The negotiation rounds of media-events.md §5: the server sends offerData, the client answers
// with an sdpOffer, the server answers it. One round at a time per peer (§5.10); triggers during
// a round are coalesced into one more round. All of it runs on the session loop.

// requestRound starts a round, or schedules one after the round in progress.
func (s *mediaSession) requestRound() {
	if !s.connected {
		return
	}
	if s.inRound || s.awaitICE {
		s.nextRound = true
		return
	}
	if !s.ensureConn() {
		return
	}
	s.inRound = true
	s.send(wire.OfferData{
		TracksTypes:           s.tracksTypes(),
		IntegratedTurnServers: s.engine.turnServers(s.peer.id),
	})
}

// tracksTypes counts the recvonly m-lines the client must have per kind: those it already has
// (never fewer: the client throws on a smaller number) plus one per track still waiting for an
// m-line.
func (s *mediaSession) tracksTypes() map[string]int {
	counts := map[string]int{
		"audio": s.recvSlots[webrtc.RTPCodecTypeAudio],
		"video": s.recvSlots[webrtc.RTPCodecTypeVideo],
	}
	for _, sub := range s.subs {
		if sub.mid == "" && !sub.removing {
			counts[sub.track.kind.String()]++
		}
	}
	return counts
}

// endRound closes the round and starts the one asked for meanwhile (unless awaitICE holds it).
func (s *mediaSession) endRound() {
	s.inRound = false
	if s.nextRound {
		s.nextRound = false
		s.requestRound()
	}
}

// roundICEWait bounds how long a round waits for ICE, restarted by the previous round, to
// connect again.
const roundICEWait = 5 * time.Second

// holdRounds makes the next round wait until the PeerConnection is connected again (or
// roundICEWait passed), as Jellyfish did (§5.10): every round restarts ICE, and rounds back to
// back (a busy room) would otherwise pause a peer's media again and again, or keep a new peer
// from ever connecting.
func (s *mediaSession) holdRounds() {
	s.awaitICE = true
	if s.iceTimer != nil {
		s.iceTimer.Stop()
	}
	s.iceGen++
	gen := s.iceGen
	s.iceTimer = time.AfterFunc(roundICEWait, func() {
		s.post(func() {
			if s.iceGen == gen { // a timer of an earlier round must not end this wait
				s.iceConnected()
			}
		})
	})
}

// iceConnected ends the wait of holdRounds: the PeerConnection is connected (or the wait timed
// out). A round asked for meanwhile starts.
func (s *mediaSession) iceConnected() {
	if !s.awaitICE {
		return
	}
	s.awaitICE = false
	if s.iceTimer != nil {
		s.iceTimer.Stop()
		s.iceTimer = nil
	}
	if s.nextRound && !s.inRound {
		s.nextRound = false
		s.requestRound()
	}
}

// newPublication is a track the client's offer publishes for the first time.
type newPublication struct {
	id, mid  string
	kind     webrtc.RTPCodecType
	metadata []byte
	rids     []string
}

// handleOffer answers the client's sdpOffer: it learns which tracks the client publishes (by mid,
// through midToTrackId), attaches the tracks the client is to receive, sends the answer with the
// complete midToTrackId, then announces published and unpublished tracks to the room.
func (s *mediaSession) handleOffer(offer wire.SDPOffer) {
	defer s.endRound()
	if !s.connected {
		return
	}
	// A round that ends without an answer would leave the client blocked for good (pitfall 5):
	// on failure the connection is closed instead, and the client may reconnect.
	if !s.ensureConn() {
		s.t.Close(ReasonInternalError)
		return
	}
	sections, err := rtc.ParseSections(offer.Offer.SDP)
	if err != nil { // malformed input, like any other: logged and dropped
		s.warnings.Warn("unparsable sdpOffer ignored", "err", err)
		return
	}

	// What the client sends (§5.2, §5.7, pitfall 9.1.25) and how many m-lines it receives on.
	recvSlots := map[webrtc.RTPCodecType]int{}
	keep := map[string]bool{}
	var added []newPublication
	for _, sec := range sections {
		switch sec.Direction {
		case webrtc.RTPTransceiverDirectionRecvonly:
			recvSlots[sec.Kind]++
		case webrtc.RTPTransceiverDirectionSendonly, webrtc.RTPTransceiverDirectionSendrecv:
			id, ok := offer.MidToTrackID[sec.Mid]
			old := s.pubByMid[sec.Mid]
			switch {
			case !ok && old != nil: // sendonly without an entry keeps its track
				keep[sec.Mid] = true
			case !ok:
			case old != nil && old.id == id:
				keep[sec.Mid] = true
			case s.room.trackTaken(id):
				s.warnings.Warn("offer reuses a track id: ignored", "track", id)
			default:
				md := offer.TrackIDToMetadata[id]
				added = append(added, newPublication{id: id, mid: sec.Mid, kind: sec.Kind, metadata: md, rids: sec.RIDs})
			}
		}
	}
	s.recvSlots = recvSlots
	var removed []*roomTrack
	for mid, t := range s.pubByMid {
		if !keep[mid] {
			removed = append(removed, t)
			delete(s.pubByMid, mid)
			s.unpublished = append(s.unpublished, t) // its reader ends with the PeerConnection
		}
	}

	// What the client receives.
	var attach, detach []*rtc.DownTrack
	for id, sub := range s.subs {
		switch {
		case sub.removing:
			if sub.attached {
				detach = append(detach, sub.down)
			} else {
				sub.down.Close()
			}
			delete(s.subs, id)
		case !sub.attached:
			attach = append(attach, sub.down)
			sub.attached = true
		}
	}

	answer, err := s.conn.Answer(offer.Offer.SDP, attach, detach)
	for _, d := range detach {
		d.Close()
	}
	if err != nil {
		s.log.Warn("cannot answer the client's offer", "err", err)
		s.t.Close(ReasonInternalError)
		return
	}
	s.offerApplied = true
	s.applyRemoteCandidates()

	midToTrackID := map[string]string{}
	for mid, t := range s.pubByMid {
		midToTrackID[mid] = t.id
	}
	var published []*roomTrack
	for _, a := range added {
		codec, ok := s.conn.AnswerCodec(a.mid)
		if !ok {
			s.log.Info("published m-line rejected (no common codec)", "track", a.id, "mid", a.mid)
			continue
		}
		t := s.room.newTrack(s.peer, a, codec)
		s.pubByMid[a.mid] = t
		s.trackMu.Lock()
		s.upByMid[a.mid] = t.up
		s.trackMu.Unlock()
		midToTrackID[a.mid] = a.id
		published = append(published, t)
	}
	for id, sub := range s.subs {
		if mid := s.conn.Mid(sub.down); mid != "" {
			sub.mid = mid
			midToTrackID[mid] = id
		}
	}
	s.send(wire.SDPAnswer{Type: "answer", SDP: answer, MidToTrackID: midToTrackID})
	s.holdRounds()
	for _, c := range s.localCands {
		s.sendCandidate(c)
	}
	s.localCands = nil

	s.room.publish(s.peer, s, published)
	s.room.unpublish(s.peer, s, removed)
}

// subscribe makes the client receive tracks: it announces them, one tracksAdded per endpoint,
// then negotiates m-lines for all of them in one round.
func (s *mediaSession) subscribe(tracks []readyTrack) {
	if !s.connected {
		return
	}
	byEndpoint := map[string]map[string]wire.TrackInfo{}
	var order []string
	for _, rt := range tracks {
		t := rt.track
		if s.subs[t.id] != nil {
			continue
		}
		if !rtc.Accepts(rtc.VideoCodec(s.room.cfg.VideoCodec), t.up.Codec().RTPCodecCapability) {
			s.log.Debug("not forwarding a track in a codec the room's peers do not receive", "track", t.id, "codec", t.up.Codec().MimeType)
			continue
		}
		down := rtc.NewDownTrack(t.up, newUUID(), s.log)
		s.subs[t.id] = &subscription{track: t, down: down}
		owner := t.endpoint
		if byEndpoint[owner] == nil {
			byEndpoint[owner] = map[string]wire.TrackInfo{}
			order = append(order, owner)
		}
		byEndpoint[owner][t.id] = rt.info
	}
	for _, owner := range order {
		s.send(wire.TracksAdded{EndpointID: owner, Tracks: byEndpoint[owner]})
	}
	if len(order) > 0 {
		s.requestRound()
	}
}

// unsubscribe stops the client receiving the given tracks of one endpoint; the ones it had
// negotiated are announced with tracksRemoved and their m-lines turn inactive next round.
func (s *mediaSession) unsubscribe(endpointID string, trackIDs []string) {
	var announced []string
	for _, id := range trackIDs {
		sub := s.subs[id]
		if sub == nil || sub.removing {
			continue
		}
		sub.down.Up().Unsubscribe(sub.down)
		switch {
		case sub.mid != "":
			announced = append(announced, id)
			sub.removing = true
		case sub.attached:
			sub.removing = true // an m-line may be coming for it: answer it inactive
		default:
			sub.down.Close()
			delete(s.subs, id)
		}
	}
	if len(announced) > 0 {
		s.send(wire.TracksRemoved{EndpointID: endpointID, TrackIDs: announced})
		s.requestRound()
	}
}

// endpointLeft drops what the client received from a departed endpoint, then announces the
// departure (tracksRemoved before endpointRemoved: pitfall 9.1.13).
func (s *mediaSession) endpointLeft(endpointID string, trackIDs []string) {
	s.unsubscribe(endpointID, trackIDs)
	if s.connected {
		s.send(wire.EndpointRemoved{ID: endpointID})
	}
}

// remoteCandidate adds a client candidate, or keeps it until an offer has been applied.
func (s *mediaSession) remoteCandidate(c wire.ClientCandidate) {
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMLineIndex: c.SDPMLineIndex, SDPMid: c.SDPMid, UsernameFragment: c.UsernameFragment}
	if init.SDPMLineIndex == nil && init.SDPMid == nil {
		zero := uint16(0)
		init.SDPMLineIndex = &zero // bundled: every candidate belongs to the first m-line
	}
	if !s.offerApplied {
		s.remoteCands = append(s.remoteCands, init)
		return
	}
	if err := s.conn.AddCandidate(init); err != nil {
		s.log.Debug("client candidate refused", "err", err)
	}
}

func (s *mediaSession) applyRemoteCandidates() {
	for _, c := range s.remoteCands {
		if err := s.conn.AddCandidate(c); err != nil {
			s.log.Debug("client candidate refused", "err", err)
		}
	}
	s.remoteCands = nil
}

// localCandidate sends one of our candidates, after the round's answer (the client rejects
// candidates for a description it does not have yet: pitfall 9.1.9).
func (s *mediaSession) localCandidate(c webrtc.ICECandidateInit) {
	if s.inRound {
		s.localCands = append(s.localCands, c)
		return
	}
	s.sendCandidate(c)
}

func (s *mediaSession) sendCandidate(c webrtc.ICECandidateInit) {
	idx := uint16(0)
	if c.SDPMLineIndex != nil {
		idx = *c.SDPMLineIndex
	}
	// usernameFragment stays null: a stale one would make the browser drop the candidate.
	s.send(wire.ServerCandidate{Candidate: c.Candidate, SDPMLineIndex: &idx, SDPMid: c.SDPMid})
}
