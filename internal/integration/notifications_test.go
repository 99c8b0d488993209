package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
)

// TestNotificationsDuringMedia: while A's media flows to B, A publishes audio and video,
// changes the video's metadata (and then sets the same value again, which must stay silent),
// changes its own metadata, unpublishes the video and leaves. The engine's notifications for A
// are exactly TrackAdded(audio), TrackAdded(video), TrackMetadataUpdated(video),
// PeerMetadataUpdated, TrackRemoved(video), TrackRemoved(audio) (after the PeerMetadataUpdated
// of its connect), each with the track id the client chose ("<peerId>:<uuid>"), its type and
// metadata; and B's client gets the matching TrackUpdated and EndpointUpdated.
func TestNotificationsDuringMedia(t *testing.T) {
	e := newEnv(t)
	sub := e.engine.Subscribe(0)
	t.Cleanup(sub.Close)
	room := e.room(jellyfish.RoomConfig{})
	a := e.join(t, room, "A", map[string]string{"name": "A"}, nil)
	b := e.join(t, room, "B", nil, nil)

	audio, video := newAudioSource(t), newVideoSource(t, vp8Codec, sourceOpts{keyEvery: 10})
	audio.start(t)
	video.start(t)
	audioID := a.publish(t, e.ctx, audio.track, map[string]string{"source": "mic"})
	videoID := a.publish(t, e.ctx, video.track, map[string]string{"source": "camera"})
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, id := range []string{audioID, videoID} {
		if rest, ok := strings.CutPrefix(id, a.ID()+":"); !ok || !uuid.MatchString(rest) {
			t.Errorf("track id %q, want %q:<uuid>", id, a.ID())
		}
	}
	b.waitPackets(t, audioID, 10)
	b.waitPackets(t, videoID, 10)

	if err := a.UpdateTrackMetadata(videoID, map[string]string{"source": "screen"}); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateTrackMetadata(videoID, map[string]string{"source": "screen"}); err != nil { // no change
		t.Fatal(err)
	}
	if err := a.UpdateMetadata(map[string]any{"name": "A", "muted": true}); err != nil {
		t.Fatal(err)
	}
	_, ev := b.waitEvent(t, 0, "TrackUpdated", isEvent[clientsdk.TrackUpdated](nil))
	if u := ev.(clientsdk.TrackUpdated); u.TrackID != videoID || !jsonEqual(u.Metadata, `{"source":"screen"}`) {
		t.Errorf("B got %+v, want TrackUpdated of %s to {\"source\":\"screen\"}", u, videoID)
	}
	_, ev = b.waitEvent(t, 0, "EndpointUpdated", isEvent[clientsdk.EndpointUpdated](nil))
	if u := ev.(clientsdk.EndpointUpdated); u.ID != a.ID() || !jsonEqual(u.Metadata, `{"name":"A","muted":true}`) {
		t.Errorf("B got %+v, want EndpointUpdated of A", u)
	}
	b.waitMore(t, audioID, 10) // media still flows

	if err := a.Unpublish(e.ctx, videoID); err != nil {
		t.Fatal(err)
	}
	a.leave()

	// The engine's notifications about A, in order, until its audio is removed.
	var got []string
	deadline := time.After(waitTimeout)
	for done := false; !done; {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended: %v", sub.Err())
			}
			if s, last := describeEvent(ev, a.ID(), audioID, videoID); s != "" {
				got = append(got, s)
				done = last
			}
		case <-deadline:
			t.Fatalf("timed out; notifications so far:\n%s", strings.Join(got, "\n"))
		}
	}
	want := []string{
		`PeerConnected`,
		`PeerMetadataUpdated {"name":"A"}`,
		`TrackAdded audio audio {"source":"mic"}`,
		`TrackAdded video video {"source":"camera"}`,
		`TrackMetadataUpdated video video {"source":"screen"}`,
		`PeerMetadataUpdated {"muted":true,"name":"A"}`,
		`TrackRemoved video video {"source":"screen"}`,
		`PeerDisconnected`,
		`TrackRemoved audio audio {"source":"mic"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("notifications about A:\n got %q\nwant %q", got, want)
	}
}

// describeEvent renders an engine event about peer p (tracks named "audio"/"video"), or "" for
// other events; last reports the final event the test waits for (audio removed).
func describeEvent(ev jellyfish.Event, p, audioID, videoID string) (s string, last bool) {
	name := func(tr jellyfish.Track) string {
		switch tr.ID {
		case audioID:
			return "audio"
		case videoID:
			return "video"
		}
		return "unknown track " + tr.ID
	}
	track := func(kind string, peer string, tr jellyfish.Track) string {
		if peer != p {
			return ""
		}
		return fmt.Sprintf("%s %s %s %s", kind, name(tr), tr.Type, compact(tr.Metadata))
	}
	switch ev := ev.(type) {
	case jellyfish.PeerConnected:
		if ev.PeerID == p {
			return "PeerConnected", false
		}
	case jellyfish.PeerDisconnected:
		if ev.PeerID == p {
			return "PeerDisconnected", false
		}
	case jellyfish.PeerMetadataUpdated:
		if ev.PeerID == p {
			return "PeerMetadataUpdated " + compact([]byte(ev.Metadata)), false
		}
	case jellyfish.TrackAdded:
		return track("TrackAdded", ev.PeerID, ev.Track), false
	case jellyfish.TrackMetadataUpdated:
		return track("TrackMetadataUpdated", ev.PeerID, ev.Track), false
	case jellyfish.TrackRemoved:
		return track("TrackRemoved", ev.PeerID, ev.Track), ev.PeerID == p && ev.Track.ID == audioID
	}
	return "", false
}

// compact re-encodes JSON with sorted keys and no spaces ("null" for none).
func compact(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "null"
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "invalid JSON " + string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func jsonEqual(b []byte, want string) bool { return compact(b) == compact([]byte(want)) }
