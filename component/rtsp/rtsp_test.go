package rtsp_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
)

// maxPayload is the largest RTP payload the component may publish (1200-byte packets).
const maxPayload = 1200 - 12

// TestCameraToPeer follows one camera through its life: absent at first (the component keeps
// trying and publishes nothing), then up (TrackAdded after PLAY, a peer decodes the video),
// then gone and back on the same ports (the same track resumes, no crash), then removed.
func TestCameraToPeer(t *testing.T) {
	clip := makeFixture(t)
	srv := startServer(t)
	cam := newCamera(t, clip)
	rtpPort := freeUDPPair(t)
	room, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, srv.Engine)
	peer := joinPeer(t, srv, room)

	// Nothing speaks RTSP at the camera's address yet.
	refuser := listenHangUp(t, cam.rtspPort)
	comp, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRTSP, Options: mustJSON(t, map[string]any{
		"sourceUri": cam.url(), "rtpPort": rtpPort, "reconnectDelay": 200,
	})})
	if err != nil {
		t.Fatalf("AddComponent: %v", err)
	}
	refuser.waitAttempts(t, 2)
	refuser.close()
	for _, ev := range events.drain() {
		if _, ok := ev.(jellyfish.TrackAdded); ok {
			t.Fatalf("TrackAdded while the camera was not up: %#v", ev)
		}
	}

	// The camera comes up: SPS/PPS only in the SDP, UDP offered.
	cam.start(cameraConfig{sprop: true, udp: true})
	ev := events.waitFor(t, "TrackAdded", func(ev jellyfish.Event) bool { _, ok := ev.(jellyfish.TrackAdded); return ok })
	added := ev.(jellyfish.TrackAdded)
	if added.ComponentID != comp.ID() || added.PeerID != "" || added.RoomID != room.ID() || added.Track.Type != jellyfish.TrackTypeVideo {
		t.Fatalf("TrackAdded = %+v, want a video track of component %s", added, comp.ID())
	}
	setups, plays, _ := cam.snapshot()
	if plays == 0 {
		t.Fatal("TrackAdded before the camera got PLAY")
	}
	if len(setups) != 1 || !hasClientPorts(setups[0], rtpPort) {
		t.Errorf("SETUP Transport headers = %q, want client_port=%d-%d", setups, rtpPort, rtpPort+1)
	}

	pa := nextPeerEvent(t, peer, func(e clientsdk.TrackAdded) bool { return e.EndpointID == comp.ID() })
	if pa.TrackID != added.Track.ID {
		t.Fatalf("peer got track %s, engine announced %s", pa.TrackID, added.Track.ID)
	}
	ready := nextPeerEvent(t, peer, func(e clientsdk.TrackReady) bool { return e.TrackID == added.Track.ID })
	if mt := ready.Remote.Codec().MimeType; mt != "video/H264" {
		t.Fatalf("peer track codec %s, want video/H264", mt)
	}
	recv := readH264(t, peer, ready.Remote)
	recv.waitFrames(t, 45, "video from the camera")
	frames, maxP := recv.snapshot()
	checkIDRs(t, frames, "first session")
	if maxP > maxPayload {
		t.Errorf("largest RTP payload %d bytes, want at most %d", maxP, maxPayload)
	}

	// The camera goes away; the component retries against a dead address, then the camera is
	// back on the same ports, now with SPS/PPS in band only and no sprop-parameter-sets.
	before := len(frames)
	cam.stop()
	refuser = listenHangUp(t, cam.rtspPort)
	refuser.waitAttempts(t, 1)
	refuser.close()
	back := time.Now()
	cam.start(cameraConfig{udp: true})
	recv.waitFrames(t, before+1, "video after the camera came back")
	t.Logf("video resumed %v after the camera came back (reconnectDelay 200ms)", time.Since(back))
	recv.waitFrames(t, before+45, "video after the camera came back")
	frames, maxP = recv.snapshot()
	checkIDRs(t, frames[before:], "second session")
	if maxP > maxPayload {
		t.Errorf("largest RTP payload %d bytes, want at most %d", maxP, maxPayload)
	}
	for _, ev := range events.drain() {
		switch ev := ev.(type) {
		case jellyfish.ComponentCrashed, jellyfish.TrackRemoved:
			t.Fatalf("unexpected %#v across the reconnection", ev)
		case jellyfish.TrackAdded:
			if ev.Track.ID != added.Track.ID {
				t.Fatalf("second TrackAdded %#v across the reconnection", ev)
			}
		}
	}
	if info := comp.Info(); len(info.Tracks) != 1 || info.Tracks[0].ID != added.Track.ID {
		t.Errorf("component tracks %+v, want the one track %s", info.Tracks, added.Track.ID)
	}

	// What the peer got decodes: both sessions, start to end.
	decoded, w, h := recv.probe(t)
	if w != clipWidth || h != clipHeight || decoded < len(frames)*9/10 {
		t.Errorf("ffprobe: %d frames of %dx%d decoded, want about %d of %dx%d", decoded, w, h, len(frames), clipWidth, clipHeight)
	}

	// Removal is prompt and ends the camera session.
	start := time.Now()
	if err := room.RemoveComponent(comp.ID()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("RemoveComponent took %v", d)
	}
	events.waitFor(t, "TrackRemoved", func(ev jellyfish.Event) bool {
		r, ok := ev.(jellyfish.TrackRemoved)
		return ok && r.ComponentID == comp.ID() && r.Track.ID == added.Track.ID
	})
	nextPeerEvent(t, peer, func(e clientsdk.TrackRemoved) bool { return e.TrackID == added.Track.ID })
	waitUntil(t, "the camera session to end", func() bool { _, _, closed := cam.snapshot(); return closed >= 2 })
	for _, ev := range events.drain() {
		if _, ok := ev.(jellyfish.ComponentCrashed); ok {
			t.Fatalf("unexpected %#v", ev)
		}
	}
}

// checkIDRs checks that frames start with an IDR and that every IDR carries SPS and PPS.
func checkIDRs(t testing.TB, frames []frame, what string) {
	t.Helper()
	if len(frames) == 0 {
		t.Fatalf("%s: no frames", what)
	}
	if idr, params := frames[0].idr(); !idr || !params {
		t.Errorf("%s: first frame has NAL units %v, want SPS, PPS, IDR", what, frames[0].types)
	}
	idrs := 0
	for i, f := range frames {
		idr, params := f.idr()
		if idr {
			idrs++
		}
		if idr && !params {
			t.Errorf("%s: frame %d is an IDR without SPS/PPS in front: %v", what, i, f.types)
		}
		if slices.Contains(f.types, 9) {
			t.Errorf("%s: frame %d has an access unit delimiter: %v", what, i, f.types)
		}
	}
	if idrs < 2 {
		t.Errorf("%s: %d IDRs in %d frames, want at least 2 (one every 15 frames)", what, idrs, len(frames))
	}
}

// TestDeleteRoom: two components on the same rtpPort (the second falls back to other ports)
// against a TCP-only camera and a UDP one; deleting the room stops both promptly.
func TestDeleteRoom(t *testing.T) {
	clip := makeFixture(t)
	srv := startServer(t)
	tcpCam, udpCam := newCamera(t, clip), newCamera(t, clip)
	tcpCam.start(cameraConfig{sprop: true})
	udpCam.start(cameraConfig{sprop: true, udp: true})
	rtpPort, tcpRTPPort := freeUDPPair(t), freeUDPPair(t)
	room, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, srv.Engine)
	// One after the other: gortsplib's server races when two UDP sessions of one client
	// address SETUP the same stream at once (ServerStream.readerAdd, v5.6.5).
	ids := map[string]bool{}
	for _, cam := range []*camera{udpCam, udpCam, tcpCam} {
		port := rtpPort
		if cam == tcpCam { // its UDP attempt (refused by the camera) must not take rtpPort
			port = tcpRTPPort
		}
		c, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRTSP,
			Options: mustJSON(t, map[string]any{"sourceUri": cam.url(), "rtpPort": port})})
		if err != nil {
			t.Fatal(err)
		}
		ids[c.ID()] = true
		events.waitFor(t, "TrackAdded", func(ev jellyfish.Event) bool {
			a, ok := ev.(jellyfish.TrackAdded)
			return ok && a.ComponentID == c.ID()
		})
	}
	setups, _, _ := udpCam.snapshot()
	if len(setups) != 2 || !hasClientPorts(setups[0], rtpPort) || hasClientPorts(setups[1], rtpPort) {
		t.Errorf("UDP camera SETUPs %q: want the first on client_port=%d-%d and the second elsewhere", setups, rtpPort, rtpPort+1)
	}
	if setups, _, _ := tcpCam.snapshot(); len(setups) == 0 || !slices.ContainsFunc(setups, func(s string) bool { return strings.Contains(s, "TCP") }) {
		t.Errorf("TCP-only camera SETUPs %q: want the component to switch to TCP", setups)
	}

	start := time.Now()
	if err := srv.Engine.DeleteRoom(room.ID()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("DeleteRoom took %v", d)
	}
	waitUntil(t, "the camera sessions to end", func() bool {
		_, _, u := udpCam.snapshot()
		_, _, c := tcpCam.snapshot()
		return u >= 2 && c >= 1
	})
	removed := 0
	for _, ev := range events.drain() {
		switch ev := ev.(type) {
		case jellyfish.TrackRemoved:
			removed++
		case jellyfish.ComponentCrashed:
			t.Errorf("unexpected %#v", ev)
		}
	}
	if removed != 3 {
		t.Errorf("%d TrackRemoved, want 3", removed)
	}
}

// TestCrashes: where Jellyfish v0.5.0 gives up (ComponentCrashed, no track): a sourceUri that
// is not an RTSP URL, and a stream without H.264.
func TestCrashes(t *testing.T) {
	clip := makeFixture(t)
	srv := startServer(t)
	vp8Cam := newCamera(t, clip)
	vp8Cam.start(cameraConfig{noH264: true, udp: true})
	room, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, srv.Engine)
	for _, uri := range []string{"not a url", "http://127.0.0.1:1/x", vp8Cam.url()} {
		c, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRTSP,
			Options: mustJSON(t, map[string]any{"sourceUri": uri, "reconnectDelay": 0})})
		if err != nil {
			t.Fatal(err)
		}
		events.waitFor(t, "ComponentCrashed for "+uri, func(ev jellyfish.Event) bool {
			cc, ok := ev.(jellyfish.ComponentCrashed)
			return ok && cc.ComponentID == c.ID()
		})
		if _, err := room.Component(c.ID()); err == nil {
			t.Errorf("%s: crashed component still in the room", uri)
		}
	}
	for _, ev := range events.drain() {
		if _, ok := ev.(jellyfish.TrackAdded); ok {
			t.Errorf("unexpected %#v", ev)
		}
	}
}

// TestRemoveWhileRetrying: a component waiting out a long reconnectDelay stops at once.
func TestRemoveWhileRetrying(t *testing.T) {
	srv := startServer(t)
	refuser := listenHangUp(t, freeTCPPort(t))
	uri := "rtsp://" + refuser.l.Addr().String() + "/cam"
	room, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	c, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRTSP,
		Options: mustJSON(t, map[string]any{"sourceUri": uri})}) // reconnectDelay 15 s
	if err != nil {
		t.Fatal(err)
	}
	refuser.waitAttempts(t, 1)
	start := time.Now()
	if err := room.RemoveComponent(c.ID()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("RemoveComponent took %v during a 15 s reconnect delay", d)
	}
}
