package integration_test

import (
	"strings"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// TestMalformedMediaEvents: while A and B exchange audio, a third peer R, on a raw socket,
// sends garbage frames and malformed or hostile media events: bad JSON, unknown types,
// sdpOffers with unparsable SDP or claiming A's track id, candidates for m-lines that do not
// exist, metadata updates for unknown tracks and for A's track, and so on. A sentinel event
// that A and B can observe follows. Until the sentinel, A and B must see nothing of it;
// then R sends an SDP that parses but cannot be applied (the server may close R for it).
// Throughout, A and B keep receiving each other's audio, and afterwards they still negotiate:
// B publishes video and A receives it.
func TestMalformedMediaEvents(t *testing.T) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{})
	a := e.join(t, room, "A", nil, nil)
	b := e.join(t, room, "B", nil, nil)
	audioA, audioB := newAudioSource(t), newAudioSource(t)
	audioA.start(t)
	audioB.start(t)
	idA := a.publish(t, e.ctx, audioA.track, map[string]string{"owner": "A"})
	idB := b.publish(t, e.ctx, audioB.track, nil)
	b.waitPackets(t, idA, 10)
	a.waitPackets(t, idB, 10)

	r := e.dialRaw(t, room, "R")
	r.connect(t, `{"name":"R"}`)
	fromA, fromB := a.eventCount(), b.eventCount()

	// Frames that are not media events.
	r.sendFrame(t, websocket.MessageText, []byte(`{"type":"connect","data":{}}`))
	r.sendFrame(t, websocket.MessageBinary, []byte{0xff, 0x00, 0x13, 0x37, 0xde, 0xad})
	r.sendFrame(t, websocket.MessageBinary, nil)
	for _, m := range []*wire.PeerMessage{
		{Content: &wire.PeerMessage_AuthRequest_{AuthRequest: &wire.PeerMessage_AuthRequest{Token: "forged"}}},
		{Content: &wire.PeerMessage_Authenticated_{Authenticated: &wire.PeerMessage_Authenticated{}}},
	} {
		frame, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		r.sendFrame(t, websocket.MessageBinary, frame)
	}

	// Media events that are not valid, or not for R to send.
	offer := makeOffer(t, map[string]int{"audio": 2}, true)
	for _, ev := range []string{
		``, `{`, `null`, `"connect"`, `[1,2,3]`, `{"type":42}`, `{"type":"bogus","data":{}}`,
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		`{"type":"custom"}`, `{"type":"custom","data":null}`, `{"type":"custom","data":"x"}`,
		`{"type":"custom","data":{"type":"bogus","data":{}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":null}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"garbage"},"midToTrackId":{}}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":42,"midToTrackId":[]}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":5}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host","sdpMLineIndex":99}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"garbage","sdpMLineIndex":0}}}`,
		`{"type":"updateTrackMetadata","data":{"trackId":5}}`,
		`{"type":"updateTrackMetadata","data":{"trackId":"` + r.id + `:no-such-track","trackMetadata":{"x":1}}}`,
		`{"type":"updateTrackMetadata","data":{"trackId":"` + idA + `","trackMetadata":{"owner":"R"}}}`,
		`{"type":"updateEndpointMetadata","data":"x"}`,
		`{"type":"custom","data":{"type":"disableTrackEncoding","data":{"trackId":"` + idA + `","encoding":"h"}}}`,
		`{"type":"custom","data":{"type":"setTargetTrackVariant","data":{"trackId":"` + idA + `","variant":"q"}}}`,
		`{"type":"custom","data":{"type":"renegotiateTracks"}}`,
		`{"type":"custom","data":{"type":"renegotiateTracks"}}`,
	} {
		r.sendMediaEvent(t, ev)
	}
	// A well-formed offer that claims A's track id as R's publication.
	r.send(t, wire.SDPOffer{Offer: wire.SessionDescription{Type: "offer", SDP: offer},
		MidToTrackID: map[string]string{"0": idA}, TrackIDToMetadata: nil})
	r.send(t, wire.ClientCandidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", SDPMLineIndex: ptr(uint16(7))})
	// The sentinel: R's events are handled in order, so once A and B see it, all of the above
	// has been handled.
	r.send(t, wire.UpdateEndpointMetadata{Metadata: []byte(`{"sentinel":true}`)})
	for _, p := range []struct {
		*peer
		from int
	}{{a, fromA}, {b, fromB}} {
		p.waitEvent(t, p.from, "the sentinel EndpointUpdated", isEvent(func(u clientsdk.EndpointUpdated) bool {
			return u.ID == r.id && jsonEqual(u.Metadata, `{"sentinel":true}`)
		}))
		for _, ev := range p.eventsSince(p.from) {
			switch ev := ev.(type) {
			case clientsdk.EndpointAdded: // R itself
				if ev.ID != r.id {
					t.Errorf("%s: unexpected %s", p.name, eventString(ev))
				}
			case clientsdk.EndpointUpdated: // the sentinel
			default:
				t.Errorf("%s: R's garbage caused %s", p.name, eventString(ev))
			}
		}
	}
	b.waitMore(t, idA, 25)
	a.waitMore(t, idB, 25)
	if info := trackInfo(t, room, a.ID(), idA); !jsonEqual(info.Metadata, `{"owner":"A"}`) {
		t.Errorf("A's track metadata = %s after R's forged update, want {\"owner\":\"A\"}", info.Metadata)
	}

	// An SDP that parses but is no usable offer: answering it fails. The server may drop R for
	// it; A and B must not notice beyond R leaving.
	r.send(t, wire.SDPOffer{Offer: wire.SessionDescription{Type: "offer",
		SDP: "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n"}})
	if ev, err := wire.EncodeClientEvent(wire.UpdateEndpointMetadata{Metadata: []byte(`{"sentinel":2}`)}); err == nil {
		frame, _ := proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_MediaEvent_{
			MediaEvent: &wire.PeerMessage_MediaEvent{Data: string(ev)}}})
		_ = r.conn.Write(e.ctx, websocket.MessageBinary, frame) // fails if R was dropped already
	}
	_, ev := b.waitEvent(t, fromB, "R updated again or removed", func(ev clientsdk.Event) bool {
		switch ev := ev.(type) {
		case clientsdk.EndpointUpdated:
			return ev.ID == r.id && jsonEqual(ev.Metadata, `{"sentinel":2}`)
		case clientsdk.EndpointRemoved:
			return ev.ID == r.id
		}
		return false
	})
	t.Logf("after the unusable SDP, B saw %s", eventString(ev))
	b.waitMore(t, idA, 25)
	a.waitMore(t, idB, 25)

	// The room still negotiates.
	video := newVideoSource(t, vp8Codec, sourceOpts{keyEvery: 10})
	video.start(t)
	videoID := b.publish(t, e.ctx, video.track, nil)
	a.waitPackets(t, videoID, 25)
	checkFirstFrame(t, a, videoID, video)
}

func ptr[T any](v T) *T { return &v }

// trackInfo returns a track as the engine shows it.
func trackInfo(t testing.TB, room *jellyfish.Room, peerID, trackID string) jellyfish.Track {
	t.Helper()
	for _, p := range room.Info().Peers {
		if p.ID != peerID {
			continue
		}
		for _, tr := range p.Tracks {
			if tr.ID == trackID {
				return tr
			}
		}
	}
	t.Fatalf("track %s of peer %s not found", trackID, peerID)
	return jellyfish.Track{}
}
