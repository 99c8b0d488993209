package jellyfish

import (
	"encoding/json"
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/rtc"
)

// TrackOptions describe a track a component publishes.
type TrackOptions struct {
	Kind TrackType
	// Codec is what the component sends: MimeType and ClockRate are required; PayloadType is
	// the one its packets carry (subscribers get their own); SDPFmtpLine matters for H.264
	// (packetization-mode, profile-level-id).
	Codec    webrtc.RTPCodecParameters
	Metadata json.RawMessage
}

// LocalTrack is a track a component publishes: it goes through the same fan-out as a peer's.
type LocalTrack struct {
	t *roomTrack
	m *ComponentMember
}

// ID returns the track id ("<component id>:<uuid>").
func (l *LocalTrack) ID() string { return l.t.id }

// WriteRTP sends one packet to every subscriber (peers and other components). Video should
// carry its parameter sets in band with each keyframe: late joiners start from the last one.
func (l *LocalTrack) WriteRTP(p *rtp.Packet) error { return l.t.up.WriteRTP(p) }

// Close unpublishes the track (TrackRemoved, tracksRemoved to its receivers).
func (l *LocalTrack) Close() {
	r := l.m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	i := -1
	for j, t := range l.m.published {
		if t == l.t {
			i = j
		}
	}
	if i < 0 {
		return
	}
	l.m.published = append(l.m.published[:i], l.m.published[i+1:]...)
	r.emitUnlocked(TrackRemoved{RoomID: r.id, ComponentID: l.m.id, Track: l.t.infoUnlocked()})
	r.dropFromSinksUnlocked(l.t)
	id, owner := l.t.id, l.m.id
	r.postToOthersUnlocked(nil, func(qs *mediaSession) { qs.unsubscribe(owner, []string{id}) })
}

// Publish adds a track to the room: TrackAdded, and every ready peer (and every subscribing
// component) receives it. It fails once the component left its room.
func (m *ComponentMember) Publish(opts TrackOptions) (*LocalTrack, error) {
	kind := webrtc.RTPCodecTypeVideo
	switch opts.Kind {
	case TrackTypeAudio:
		kind = webrtc.RTPCodecTypeAudio
	case TrackTypeVideo:
	default:
		return nil, fmt.Errorf("jellyfish: track kind %q", opts.Kind)
	}
	if opts.Codec.MimeType == "" || opts.Codec.ClockRate == 0 {
		return nil, fmt.Errorf("jellyfish: track codec needs a MimeType and a ClockRate")
	}
	r := m.room
	t := &roomTrack{id: m.id + ":" + newUUID(), component: m, endpoint: m.id, kind: kind,
		metadata: normalizeJSON(opts.Metadata), disabled: map[string]bool{}}
	t.up = rtc.NewLocalUpTrack(t.id, kind, opts.Codec, m.log)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || m.left {
		return nil, errRoomGone
	}
	m.published = append(m.published, t)
	r.emitUnlocked(TrackAdded{RoomID: r.id, ComponentID: m.id, Track: t.infoUnlocked()})
	m.log.Info("track published", "track", t.id, "kind", kind, "codec", opts.Codec.MimeType)
	ready := []readyTrack{{t, t.wireInfoUnlocked()}}
	r.postToOthersUnlocked(nil, func(qs *mediaSession) { qs.subscribe(ready) })
	r.offerToSinksUnlocked(t)
	return &LocalTrack{t: t, m: m}, nil
}

// sinkEntry is a track a TrackSink accepted; owned by the component's loop.
type sinkEntry struct {
	st   *SinkTrack
	down *rtc.DownTrack
}

// wantsUnlocked reports whether sink component m takes track t; r.mu must be held.
func (m *ComponentMember) wantsUnlocked(t *roomTrack) bool {
	if m.sink == nil || m.left || t.component == m || m.offered[t.id] {
		return false
	}
	return m.sink.SubscribeMode() != SubscribeManual || m.origins[t.endpoint]
}

// offerToSinksUnlocked offers a newly published track to the components that take it.
func (r *Room) offerToSinksUnlocked(t *roomTrack) {
	for _, m := range r.components {
		if m.wantsUnlocked(t) {
			m.offerUnlocked(t)
		}
	}
}

// offerExistingUnlocked offers m every published track it takes and was not offered yet.
func (r *Room) offerExistingUnlocked(m *ComponentMember) {
	for _, p := range r.peers {
		for _, t := range p.published {
			if m.wantsUnlocked(t) {
				m.offerUnlocked(t)
			}
		}
	}
	for _, c := range r.components {
		for _, t := range c.published {
			if m.wantsUnlocked(t) {
				m.offerUnlocked(t)
			}
		}
	}
}

// offerUnlocked posts AddTrack to m's loop; r.mu must be held.
func (m *ComponentMember) offerUnlocked(t *roomTrack) {
	m.offered[t.id] = true
	st := &SinkTrack{ID: t.id, EndpointID: t.endpoint, Kind: trackKind(t.kind), Codec: t.up.Codec(),
		Metadata: t.metadata, requestKeyframe: t.up.RequestKeyframe}
	up := t.up
	m.box.post(func() {
		recv := m.sink.AddTrack(st)
		if recv == nil {
			return
		}
		down := rtc.NewSinkTrack(up, m.log, rtc.SinkFunc(recv))
		m.sinks = append(m.sinks, sinkEntry{st: st, down: down})
	})
}

// dropFromSinksUnlocked stops every component receiving t; r.mu must be held.
func (r *Room) dropFromSinksUnlocked(t *roomTrack) {
	for _, m := range r.components {
		if !m.offered[t.id] {
			continue
		}
		delete(m.offered, t.id)
		m.box.post(func() {
			for i, e := range m.sinks {
				if e.st.ID == t.id {
					e.down.Close()
					m.sinks = append(m.sinks[:i], m.sinks[i+1:]...)
					m.sink.RemoveTrack(e.st)
					return
				}
			}
		})
	}
}
