package clientsdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/internal/testserver"

	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// debugLogger logs at debug level into the test output (shown on failure or with -v).
func debugLogger(t *testing.T) *slog.Logger { return testlog.New(t, slog.LevelDebug) }

// newRealServer starts an engine and its server on 127.0.0.1 and returns the engine and the
// peer_websocket_url ("host:port/socket/peer/websocket").
func newRealServer(t *testing.T, log *slog.Logger) (*jellyfish.Engine, string) {
	t.Helper()
	srv := testserver.Start(t, log)
	return srv.Engine, srv.PeerURL
}

func TestIntegrationTwoPeers(t *testing.T) { testIntegration(t, false) }

// TestIntegrationRelayOnly runs the same scenario with relay-only clients, like browsers:
// every candidate is a relay candidate on the engine's integrated TURN server.
func TestIntegrationRelayOnly(t *testing.T) { testIntegration(t, true) }

func testIntegration(t *testing.T, relay bool) {
	log := debugLogger(t)
	e, peerURL := newRealServer(t, log)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	room, err := e.CreateRoom(jellyfish.RoomConfig{})
	if err != nil {
		t.Fatal(err)
	}
	peerA, tokenA, err := room.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	peerB, tokenB, err := room.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := join(t, ctx, clientsdk.Config{URL: peerURL, Token: tokenA, Metadata: map[string]string{"name": "A"},
		Logger: log.With("side", "A"), RelayOnly: relay})
	b := join(t, ctx, clientsdk.Config{URL: "ws://" + peerURL, Token: tokenB, Metadata: map[string]string{"name": "B"},
		Logger: log.With("side", "B"), RelayOnly: relay})
	if a.ID() != peerA.ID() || b.ID() != peerB.ID() {
		t.Fatalf("IDs = %q, %q; want %q, %q", a.ID(), b.ID(), peerA.ID(), peerB.ID())
	}
	if ep, ok := b.Endpoints()[a.ID()]; !ok || string(ep.Metadata) != `{"name":"A"}` {
		t.Fatalf("B's Endpoints() = %+v, want A with metadata {\"name\":\"A\"}", b.Endpoints())
	}
	if ea := nextOf[clientsdk.EndpointAdded](t, a); ea.ID != b.ID() || ea.Type != "webrtc" {
		t.Errorf("A got EndpointAdded %+v, want B", ea)
	}

	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "a-stream")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "a-stream")
	if err != nil {
		t.Fatal(err)
	}
	writeSamples(t, video, vp8Keyframe)
	writeSamples(t, audio, opusFrame)
	videoID, err := a.Publish(ctx, video, map[string]string{"source": "camera"})
	if err != nil {
		t.Fatalf("Publish(video): %v", err)
	}
	audioID, err := a.Publish(ctx, audio, map[string]string{"source": "mic"})
	if err != nil {
		t.Fatalf("Publish(audio): %v", err)
	}

	// B: TrackAdded then TrackReady for both, and RTP on both.
	added := map[string]json.RawMessage{}
	readers := map[string]*reader{}
	deadline := time.After(waitTimeout)
	for len(readers) < 2 {
		select {
		case ev := <-b.Events():
			switch ev := ev.(type) {
			case clientsdk.TrackAdded:
				if ev.EndpointID != a.ID() {
					t.Errorf("TrackAdded from %q, want %q", ev.EndpointID, a.ID())
				}
				added[ev.TrackID] = ev.Metadata
			case clientsdk.TrackReady:
				if _, ok := added[ev.TrackID]; !ok {
					t.Errorf("TrackReady %s before its TrackAdded", ev.TrackID)
				}
				readers[ev.TrackID] = readTrack(t, b, ev.Remote)
			default:
				t.Logf("B: %#v", ev)
			}
		case <-deadline:
			t.Fatalf("B: timed out; TrackAdded %v, TrackReady for %d tracks", keys(added), len(readers))
		}
	}
	if string(added[videoID]) != `{"source":"camera"}` || string(added[audioID]) != `{"source":"mic"}` {
		t.Errorf("B's track metadata = %s / %s", added[videoID], added[audioID])
	}
	for id, r := range readers {
		if id != videoID && id != audioID {
			t.Fatalf("B got TrackReady for unknown track %s", id)
		}
		waitClosed(t, r.enough, fmt.Sprintf("%d RTP packets on %s", enoughPackets, id))
	}

	// A unpublishes its video: B gets TrackRemoved.
	if err := a.Unpublish(ctx, videoID); err != nil {
		t.Fatalf("Unpublish: %v", err)
	}
	if r := nextOf[clientsdk.TrackRemoved](t, b); r.TrackID != videoID || r.EndpointID != a.ID() {
		t.Errorf("B got TrackRemoved %+v, want %s", r, videoID)
	}
	// Audio keeps flowing through the round (an ICE restart) that removed the video.
	readers[audioID].waitFor(t, readers[audioID].packets.Load()+25, "audio after the video was removed")

	// A leaves: B gets TrackRemoved for the audio, then EndpointRemoved.
	if err := a.Leave(); err != nil {
		t.Errorf("A Leave: %v", err)
	}
	if r := nextOf[clientsdk.TrackRemoved](t, b); r.TrackID != audioID {
		t.Errorf("B got TrackRemoved %+v, want %s", r, audioID)
	}
	if r := nextOf[clientsdk.EndpointRemoved](t, b); r.ID != a.ID() {
		t.Errorf("B got EndpointRemoved %+v, want %s", r, a.ID())
	}
	t.Logf("B read %d video and %d audio packets", readers[videoID].packets.Load(), readers[audioID].packets.Load())
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
