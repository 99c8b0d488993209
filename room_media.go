package jellyfish

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/rtc"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// roomTrack is a track published in a room. Its mutable fields are guarded by room.mu.
type roomTrack struct {
	id        string
	owner     *Peer            // nil for a component's track
	component *ComponentMember // nil for a peer's track
	endpoint  string           // the publisher's id
	kind      webrtc.RTPCodecType
	up        *rtc.UpTrack

	metadata json.RawMessage
	rids     []string        // simulcast layers offered, SDP order; nil when not simulcast
	disabled map[string]bool // layers the publisher switched off
}

// trackKind maps a pion kind to the API's track type.
func trackKind(k webrtc.RTPCodecType) TrackType {
	if k == webrtc.RTPCodecTypeAudio {
		return TrackTypeAudio
	}
	return TrackTypeVideo
}

// infoUnlocked returns the track as the server API shows it; room.mu must be held.
func (t *roomTrack) infoUnlocked() Track {
	return Track{ID: t.id, Type: trackKind(t.kind), Metadata: t.metadata}
}

// wireInfoUnlocked returns the track as media events carry it; room.mu must be held.
func (t *roomTrack) wireInfoUnlocked() wire.TrackInfo {
	sc := wire.SimulcastConfig{ActiveEncodings: []string{"h"}, DisabledEncodings: []string{}}
	if len(t.rids) > 1 {
		sc.Enabled = true
		sc.ActiveEncodings = slices.Clone(t.rids)
		for _, rid := range t.rids {
			if t.disabled[rid] {
				sc.DisabledEncodings = append(sc.DisabledEncodings, rid)
			}
		}
	}
	return wire.TrackInfo{Metadata: orNull(t.metadata), SimulcastConfig: sc}
}

func orNull(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return m
}

// newTrack builds the up-track of a publication (not yet visible to the room).
func (r *Room) newTrack(p *Peer, a newPublication, codec webrtc.RTPCodecParameters) *roomTrack {
	t := &roomTrack{id: a.id, owner: p, endpoint: p.id, kind: a.kind, metadata: normalizeJSON(a.metadata), disabled: map[string]bool{}}
	if len(a.rids) > 1 {
		t.rids = a.rids
	}
	t.up = rtc.NewUpTrack(a.id, a.kind, codec, r.log)
	if a.kind == webrtc.RTPCodecTypeAudio {
		var vad rtc.VAD // only the track's reader touches it
		t.up.OnAudioLevel = func(level uint8, voice bool, now time.Time) {
			if changed, speaking := vad.Update(level, voice, now); changed {
				r.voiceActivity(t, speaking)
			}
		}
	}
	return t
}

// voiceActivity tells the receivers of an audio track that its speaker started or stopped
// talking (vadNotification).
func (r *Room) voiceActivity(t *roomTrack, speaking bool) {
	ev := wire.VadNotification{TrackID: t.id, Status: wire.VadSilence}
	if speaking {
		ev.Status = wire.VadSpeech
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.postToOthersUnlocked(t.owner, func(qs *mediaSession) {
		if sub := qs.subs[t.id]; sub != nil && sub.mid != "" {
			qs.send(ev)
		}
	})
}

// normalizeJSON turns JSON null into nil, so that "no metadata" has one representation.
func normalizeJSON(m json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(m); len(t) == 0 || string(t) == "null" {
		return nil
	}
	return m
}

// trackTaken reports whether a track id is already published in the room.
func (r *Room) trackTaken(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.peers {
		for _, t := range p.published {
			if t.id == id {
				return true
			}
		}
	}
	return false
}

// readyTrack is a track a joining session subscribes to, with its info at join time.
type readyTrack struct {
	track *roomTrack
	info  wire.TrackInfo
}

// join makes p (whose client sent connect) ready: it stores its metadata and returns the other
// ready endpoints and their tracks; the other ready peers are told (endpointAdded).
func (r *Room) join(p *Peer, s *mediaSession, metadata json.RawMessage) ([]wire.Endpoint, []readyTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || p.session != s {
		return []wire.Endpoint{}, nil
	}
	p.ready = true
	if md := normalizeJSON(metadata); md != nil {
		p.metadata = md
		r.emitUnlocked(PeerMetadataUpdated{RoomID: r.id, PeerID: p.id, Metadata: jsonOrNull(p.metadata)})
	}
	others := []wire.Endpoint{}
	var tracks []readyTrack
	added := wire.EndpointAdded{ID: p.id, Type: string(PeerTypeWebRTC), Metadata: orNull(p.metadata)}
	for _, q := range r.peers {
		if q == p || !q.ready || q.session == nil {
			continue
		}
		ep := wire.Endpoint{ID: q.id, Type: string(PeerTypeWebRTC), Metadata: orNull(q.metadata), Tracks: map[string]wire.TrackInfo{}}
		for _, t := range q.published {
			info := t.wireInfoUnlocked()
			ep.Tracks[t.id] = info
			tracks = append(tracks, readyTrack{t, info})
		}
		others = append(others, ep)
		qs := q.session
		qs.post(func() {
			if qs.connected {
				qs.send(added)
			}
		})
	}
	for _, c := range r.components {
		ep := wire.Endpoint{ID: c.id, Type: string(c.typ), Metadata: orNull(nil), Tracks: map[string]wire.TrackInfo{}}
		for _, t := range c.published {
			info := t.wireInfoUnlocked()
			ep.Tracks[t.id] = info
			tracks = append(tracks, readyTrack{t, info})
		}
		others = append(others, ep)
	}
	return others, tracks
}

// publish makes new tracks of p visible: TrackAdded, and a subscription for every other ready
// peer.
func (r *Room) publish(p *Peer, s *mediaSession, tracks []*roomTrack) {
	if len(tracks) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || p.session != s {
		return
	}
	ready := make([]readyTrack, 0, len(tracks))
	for _, t := range tracks {
		p.published = append(p.published, t)
		r.emitUnlocked(TrackAdded{RoomID: r.id, PeerID: p.id, Track: t.infoUnlocked()})
		r.log.Info("track published", "peer", p.id, "track", t.id, "kind", t.kind, "codec", t.up.Codec().MimeType)
		ready = append(ready, readyTrack{t, t.wireInfoUnlocked()})
		r.offerToSinksUnlocked(t)
	}
	r.postToOthersUnlocked(p, func(qs *mediaSession) { qs.subscribe(ready) })
}

// unpublish removes tracks p no longer sends: TrackRemoved, and tracksRemoved to their
// receivers.
func (r *Room) unpublish(p *Peer, s *mediaSession, tracks []*roomTrack) {
	if len(tracks) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || p.session != s {
		return
	}
	var ids []string
	for _, t := range tracks {
		p.published = slices.DeleteFunc(p.published, func(x *roomTrack) bool { return x == t })
		r.emitUnlocked(TrackRemoved{RoomID: r.id, PeerID: p.id, Track: t.infoUnlocked()})
		r.dropFromSinksUnlocked(t)
		ids = append(ids, t.id)
	}
	r.postToOthersUnlocked(p, func(qs *mediaSession) { qs.unsubscribe(p.id, ids) })
}

// postToOthersUnlocked posts f to the session of every other ready peer; r.mu must be held.
func (r *Room) postToOthersUnlocked(p *Peer, f func(*mediaSession)) {
	for _, q := range r.peers {
		if q != p && q.ready && q.session != nil {
			qs := q.session
			qs.post(func() { f(qs) })
		}
	}
}

// updatePeerMetadata stores a peer's new metadata and tells every ready endpoint, the sender
// included (§3.3), when it changed.
func (r *Room) updatePeerMetadata(p *Peer, metadata json.RawMessage) {
	md := normalizeJSON(metadata)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || p.removed || bytes.Equal(md, p.metadata) {
		return
	}
	p.metadata = md
	r.emitUnlocked(PeerMetadataUpdated{RoomID: r.id, PeerID: p.id, Metadata: jsonOrNull(md)})
	ev := wire.EndpointUpdated{ID: p.id, Metadata: orNull(md)}
	for _, q := range r.peers {
		if q.ready && q.session != nil {
			qs := q.session
			qs.post(func() { qs.send(ev) })
		}
	}
}

// updateTrackMetadata stores new metadata of one of p's tracks and tells its receivers. Unknown
// track ids are ignored (Jellyfish crashed the peer on them).
func (r *Room) updateTrackMetadata(p *Peer, trackID string, metadata json.RawMessage) {
	md := normalizeJSON(metadata)
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(p.published, func(t *roomTrack) bool { return t.id == trackID })
	if r.closed || i < 0 || bytes.Equal(md, p.published[i].metadata) {
		return
	}
	t := p.published[i]
	t.metadata = md
	r.emitUnlocked(TrackMetadataUpdated{RoomID: r.id, PeerID: p.id, Track: t.infoUnlocked()})
	ev := wire.TrackUpdated{EndpointID: p.id, TrackID: t.id, Metadata: orNull(md)}
	r.postToOthersUnlocked(p, func(qs *mediaSession) {
		if sub := qs.subs[t.id]; sub != nil && sub.mid != "" { // only to receivers (§3.4)
			qs.send(ev)
		}
	})
}

// setEncoding records a publisher's switching a simulcast layer on or off and tells the track's
// receivers on an actual change (§3.5; duplicates are normal, pitfall 9.1.16).
func (r *Room) setEncoding(p *Peer, trackID, rid string, enabled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(p.published, func(t *roomTrack) bool { return t.id == trackID })
	if r.closed || i < 0 {
		return
	}
	t := p.published[i]
	if !slices.Contains(t.rids, rid) || t.disabled[rid] == !enabled {
		return
	}
	t.disabled[rid] = !enabled
	var ev wire.ServerEvent = wire.TrackEncodingDisabled{EndpointID: p.id, TrackID: t.id, Encoding: rid}
	if enabled {
		ev = wire.TrackEncodingEnabled{EndpointID: p.id, TrackID: t.id, Encoding: rid}
	}
	r.postToOthersUnlocked(p, func(qs *mediaSession) {
		if sub := qs.subs[t.id]; sub != nil && sub.mid != "" {
			qs.send(ev)
		}
	})
}
