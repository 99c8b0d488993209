package integration_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
)

func TestPublishSubscribeVP8(t *testing.T)  { testPublishSubscribe(t, jellyfish.VideoCodecVP8) }
func TestPublishSubscribeH264(t *testing.T) { testPublishSubscribe(t, jellyfish.VideoCodecH264) }

// testPublishSubscribe: in a room restricted to codec, A publishes video (keyframes of three
// packets every 10 frames, and on PLI), then Opus. B receives both with the room's codec and
// payload types; its first video packet starts a keyframe, and that frame arrives byte for
// byte as sent (frame and RTP payloads), as do the Opus payloads.
//
// The audio is published only once B has its first video frame: its negotiation round
// restarts ICE (every round does, as with Jellyfish), and packets in flight when B restarts are
// lost without trace; when those are B's first video packets, B's first packet is not a
// keyframe (a browser would ask for one with a PLI). TestRenegotiation covers media across
// rounds.
func testPublishSubscribe(t *testing.T, codec jellyfish.VideoCodec) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{VideoCodec: codec})
	want := codecOf(codec)

	video := newVideoSource(t, want, sourceOpts{keyEvery: 10})
	a := e.join(t, room, "A", nil, func(c *clientsdk.Config) {
		c.Interceptors = func(r *interceptor.Registry) {
			r.Add(interceptorFactory(func() interceptor.Interceptor { return &pliObserver{onPLI: video.requestKeyframe} }))
		}
	})
	b := e.join(t, room, "B", nil, nil)
	video.start(t)
	videoID := a.publish(t, e.ctx, video.track, map[string]string{"source": "camera"})

	vt := b.track(t, videoID)
	if got := vt.remote.Codec().MimeType; !strings.EqualFold(got, want.MimeType) {
		t.Errorf("B's video codec = %s, want %s", got, want.MimeType)
	}
	if vt.endpoint != a.ID() {
		t.Errorf("video from %s, want %s", vt.endpoint, a.ID())
	}
	sent := checkFirstFrame(t, b, videoID, video)
	t.Logf("B's first video frame: frame %d, %d bytes in %d packets", sent.n, len(sent.data), len(sent.payloads))

	audio := newAudioSource(t)
	audio.start(t)
	audioID := a.publish(t, e.ctx, audio.track, map[string]string{"source": "mic"})
	at := b.track(t, audioID)
	if got := at.remote.Codec().MimeType; !strings.EqualFold(got, webrtc.MimeTypeOpus) {
		t.Errorf("B's audio codec = %s, want %s", got, webrtc.MimeTypeOpus)
	}
	b.waitPackets(t, audioID, 10)
	for _, p := range b.packets(audioID) {
		if !bytes.Equal(p.Payload, opusFrame) || p.PayloadType != uint8(at.remote.PayloadType()) {
			t.Fatalf("audio packet seq %d: payload type %d, payload % x; want %d, % x", p.SequenceNumber,
				p.PayloadType, p.Payload, at.remote.PayloadType(), opusFrame)
		}
	}
	b.waitPackets(t, videoID, 50)
	for _, p := range b.packets(videoID) {
		if p.PayloadType != uint8(vt.remote.PayloadType()) {
			t.Fatalf("video packet seq %d has payload type %d, want %d", p.SequenceNumber, p.PayloadType, vt.remote.PayloadType())
		}
	}
}

// TestKeyframeOnSubscribe: A sends one keyframe when it starts and then only interframes,
// except that it answers every PLI with a keyframe. B joins a while later: the server must ask
// A for a keyframe (a PLI reaches A's RTPSender), and B's first video packet must start a
// keyframe sent after B joined.
func TestKeyframeOnSubscribe(t *testing.T) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecVP8})
	video := newVideoSource(t, vp8Codec, sourceOpts{}) // keyframes only first and on PLI
	a := e.join(t, room, "A", nil, func(c *clientsdk.Config) {
		c.Interceptors = func(r *interceptor.Registry) {
			r.Add(interceptorFactory(func() interceptor.Interceptor { return &pliObserver{onPLI: video.requestKeyframe} }))
		}
	})
	video.start(t)
	videoID := a.publish(t, e.ctx, video.track, nil)

	// A second of interframes after the last keyframe, with no PLI in that time.
	lastKey := 0
	video.waitUntil(t, "50 interframes in a row", func() bool {
		for n := video.sent - 1; n >= 0; n-- {
			if video.frames[n].key {
				lastKey = n
				return video.sent-1-n >= 50
			}
		}
		return false
	})
	plis, sentBefore := video.plis.Load(), video.sentCount()
	t.Logf("before B joins: %d frames sent, last keyframe %d, %d PLIs", sentBefore, lastKey, plis)

	b := e.join(t, room, "B", nil, nil)
	video.waitUntil(t, "a PLI after B joined", func() bool { return video.plis.Load() > plis })
	first := checkFirstFrame(t, b, videoID, video)
	if first.n < sentBefore {
		t.Errorf("B's first frame is frame %d, sent before B joined (at frame %d)", first.n, sentBefore)
	}
	t.Logf("B started at keyframe %d; PLIs: %d before B joined, %d now", first.n, plis, video.plis.Load())
	b.waitMore(t, videoID, 25)
}

// TestNACKRecovery: B's lossInjector drops ten video packets (every 10th after the 20th) on
// their way in, before B's NACK generator sees them; B NACKs them and the server retransmits
// them from its packet cache: each dropped sequence number arrives later, carrying the frame
// that belongs between its neighbours, and no sequence number is missing.
func TestNACKRecovery(t *testing.T) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecVP8})
	// Small frames: one packet each, so sequence numbers and frame numbers advance together.
	video := newVideoSource(t, vp8Codec, sourceOpts{keyEvery: 25, keySize: 300, size: 200})
	a := e.join(t, room, "A", nil, func(c *clientsdk.Config) {
		c.Interceptors = func(r *interceptor.Registry) {
			r.Add(interceptorFactory(func() interceptor.Interceptor { return &pliObserver{onPLI: video.requestKeyframe} }))
		}
	})

	const drops, every, firstDrop = 10, 10, 20
	var mu sync.Mutex
	var base uint16
	started := false
	dropped := map[uint16]bool{} // dropped once; the retransmission passes
	drop := func(seq uint16) bool {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			base, started = seq, true
		}
		i := int(seq - base)
		if i < firstDrop || i%every != 0 || i >= firstDrop+drops*every || dropped[seq] {
			return false
		}
		dropped[seq] = true
		return true
	}
	b := e.join(t, room, "B", nil, func(c *clientsdk.Config) {
		c.Interceptors = func(r *interceptor.Registry) {
			r.Add(interceptorFactory(func() interceptor.Interceptor { return &lossInjector{drop: drop} }))
		}
		// The loss is injected above SRTP, which has already seen the dropped packets: its
		// replay window would reject their retransmissions (same SSRC and sequence number),
		// which after a real loss it never saw.
		c.SettingEngine = func(s *webrtc.SettingEngine) { s.DisableSRTPReplayProtection(true) }
	})
	video.start(t)
	videoID := a.publish(t, e.ctx, video.track, nil)

	const span = firstDrop + drops*every + 10
	got := map[uint16]int{} // seq -> index of arrival
	b.waitUntil(t, "every dropped packet retransmitted", func() bool {
		tr := b.tracks[videoID]
		if tr == nil {
			return false
		}
		clear(got)
		for i, p := range tr.pkts {
			got[p.SequenceNumber] = i
		}
		mu.Lock()
		defer mu.Unlock()
		if len(dropped) < drops {
			return false
		}
		for seq := range dropped {
			if _, ok := got[seq]; !ok {
				return false
			}
		}
		for i := range span {
			if _, ok := got[base+uint16(i)]; !ok {
				return false
			}
		}
		return true
	})

	pkts := b.packets(videoID)
	mu.Lock()
	defer mu.Unlock()
	frameOf := func(i int) int { return parseFrameTag(depacketize(t, webrtc.MimeTypeVP8, pkts[i:i+1])) }
	late := 0
	for seq := range dropped {
		i, prev, next := got[seq], got[seq-1], got[seq+1]
		if i < next {
			t.Errorf("seq %d arrived before seq %d: not a retransmission", seq, seq+1)
		}
		late++
		if f, fp, fn := frameOf(i), frameOf(prev), frameOf(next); f != fp+1 || f != fn-1 {
			t.Errorf("retransmitted seq %d carries frame %d, between frames %d and %d", seq, f, fp, fn)
		} else if sent := video.frame(f); sent == nil || !bytes.Equal(pkts[i].Payload, sent.payloads[0]) {
			t.Errorf("retransmitted seq %d: payload differs from frame %d as sent", seq, f)
		}
	}
	t.Logf("%d packets dropped and retransmitted (base seq %d)", late, base)
}
