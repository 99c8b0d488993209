package integration_test

import (
	"testing"

	"go.uber.org/goleak"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// TestPeerVanishesMidNegotiation: A and B exchange audio. Peers then vanish at different steps
// of their first negotiation round: socket dropped right after offerData, right after sending
// an sdpOffer (receive-only, or one that publishes a track), and a clientsdk client that Leaves
// as soon as it has joined. Each time, A and B get EndpointRemoved (and TrackRemoved for any
// track of the vanished peer they were told about), keep receiving each other's audio, and can
// still negotiate (A publishes video, B receives it). No goroutine outlives the test.
func TestPeerVanishesMidNegotiation(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // first registered: runs after every other cleanup
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{})
	a := e.join(t, room, "A", nil, nil)
	b := e.join(t, room, "B", nil, nil)
	audioA, audioB := newAudioSource(t), newAudioSource(t)
	audioA.start(t)
	audioB.start(t)
	idA := a.publish(t, e.ctx, audioA.track, nil)
	idB := b.publish(t, e.ctx, audioB.track, nil)
	b.waitPackets(t, idA, 10)
	a.waitPackets(t, idB, 10)

	// vanished checks what A and B saw of peer x and that their media still flows.
	vanished := func(t *testing.T, x string, fromA, fromB int) {
		t.Helper()
		for _, p := range []struct {
			*peer
			from int
		}{{a, fromA}, {b, fromB}} {
			p.waitEvent(t, p.from, "EndpointRemoved of "+x, isEvent(func(r clientsdk.EndpointRemoved) bool { return r.ID == x }))
			announced := map[string]bool{}
			for _, ev := range p.eventsSince(p.from) {
				switch ev := ev.(type) {
				case clientsdk.TrackAdded:
					if ev.EndpointID == x {
						announced[ev.TrackID] = true
					}
				case clientsdk.TrackRemoved:
					delete(announced, ev.TrackID)
				}
			}
			if len(announced) > 0 {
				t.Errorf("%s: tracks of %s added and never removed: %v", p.name, x, announced)
			}
		}
		b.waitMore(t, idA, 25)
		a.waitMore(t, idB, 25)
	}

	t.Run("closed after offerData", func(t *testing.T) {
		fromA, fromB := a.eventCount(), b.eventCount()
		x := e.dialRaw(t, room, "X")
		x.connect(t, `{"name":"X"}`)
		nextRaw[wire.OfferData](t, x)
		x.close()
		vanished(t, x.id, fromA, fromB)
	})

	t.Run("closed after sdpOffer", func(t *testing.T) {
		fromA, fromB := a.eventCount(), b.eventCount()
		x := e.dialRaw(t, room, "X")
		x.connect(t, `null`)
		od := nextRaw[wire.OfferData](t, x)
		x.send(t, wire.SDPOffer{Offer: wire.SessionDescription{Type: "offer", SDP: makeOffer(t, od.TracksTypes, false)},
			MidToTrackID: map[string]string{}})
		x.close()
		vanished(t, x.id, fromA, fromB)
	})

	t.Run("closed after publishing sdpOffer", func(t *testing.T) {
		fromA, fromB := a.eventCount(), b.eventCount()
		x := e.dialRaw(t, room, "X")
		x.connect(t, `null`)
		od := nextRaw[wire.OfferData](t, x)
		track := x.id + ":7d3c7a52-4a0e-4b8e-9a53-6f1f7f0b9f01"
		x.send(t, wire.SDPOffer{Offer: wire.SessionDescription{Type: "offer", SDP: makeOffer(t, od.TracksTypes, true)},
			MidToTrackID: map[string]string{"0": track}})
		x.close()
		vanished(t, x.id, fromA, fromB)
	})

	t.Run("Leave right after joining", func(t *testing.T) {
		fromA, fromB := a.eventCount(), b.eventCount()
		c := e.join(t, room, "C", nil, nil) // its first round starts now: A and B publish
		c.leave()
		vanished(t, c.ID(), fromA, fromB)
	})

	t.Run("Leave while publishing", func(t *testing.T) {
		fromA, fromB := a.eventCount(), b.eventCount()
		c := e.join(t, room, "C", nil, nil)
		audio := newAudioSource(t)
		published := make(chan error, 1)
		go func() { _, err := c.Publish(e.ctx, audio.track, nil); published <- err }()
		c.waitUntil(t, "a remote track", func() bool { return len(c.tracks) > 0 })
		c.leave()
		<-published // ends with the Leave at the latest
		vanished(t, c.ID(), fromA, fromB)
	})

	// Only A and B are left, as each other sees it, and they still negotiate.
	for _, p := range []*peer{a, b} {
		if eps := p.Endpoints(); len(eps) != 1 {
			t.Errorf("%s knows %d endpoints, want 1: %v", p.name, len(eps), eps)
		}
	}
	for _, info := range room.Info().Peers {
		if info.ID != a.ID() && info.ID != b.ID() && (info.Status != jellyfish.PeerStatusDisconnected || len(info.Tracks) > 0) {
			t.Errorf("vanished peer %s: status %s with %d tracks, want disconnected without tracks", info.ID, info.Status, len(info.Tracks))
		}
	}
	video := newVideoSource(t, vp8Codec, sourceOpts{keyEvery: 10})
	video.start(t)
	videoID := a.publish(t, e.ctx, video.track, nil)
	b.waitPackets(t, videoID, 25)
}
