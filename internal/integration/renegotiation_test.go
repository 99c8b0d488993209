package integration_test

import (
	"slices"
	"testing"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
)

// TestRenegotiation: A publishes audio, later video, then removes the video. B sees, for A's
// tracks, exactly TrackAdded(audio), TrackReady(audio), TrackAdded(video), TrackReady(video),
// TrackRemoved(video); the removed video track ends on B; and A's audio keeps flowing to B
// through all three rounds (each an ICE restart) with no long gap.
func TestRenegotiation(t *testing.T) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{})
	a := e.join(t, room, "A", nil, nil)
	b := e.join(t, room, "B", nil, nil)

	audio := newAudioSource(t)
	audio.start(t)
	audioID := a.publish(t, e.ctx, audio.track, nil)
	b.waitPackets(t, audioID, 25)

	video := newVideoSource(t, vp8Codec, sourceOpts{keyEvery: 10})
	video.start(t)
	videoID := a.publish(t, e.ctx, video.track, nil)
	b.waitPackets(t, videoID, 25)
	b.waitMore(t, audioID, 25)

	if err := a.Unpublish(e.ctx, videoID); err != nil {
		t.Fatalf("Unpublish: %v", err)
	}
	b.waitEvent(t, 0, "TrackRemoved(video)", isEvent(func(r clientsdk.TrackRemoved) bool { return r.TrackID == videoID }))
	b.waitUntil(t, "the removed video track to end", func() bool { return b.tracks[videoID].ended })
	b.waitMore(t, audioID, 25)

	var got []string
	names := map[string]string{audioID: "audio", videoID: "video"}
	for _, ev := range b.eventsSince(0) {
		switch ev := ev.(type) {
		case clientsdk.TrackAdded:
			got = append(got, "added "+names[ev.TrackID])
		case clientsdk.TrackReady:
			got = append(got, "ready "+names[ev.TrackID])
		case clientsdk.TrackRemoved:
			got = append(got, "removed "+names[ev.TrackID])
		}
	}
	want := []string{"added audio", "ready audio", "added video", "ready video", "removed video"}
	if !slices.Equal(got, want) {
		t.Errorf("B's track events = %q, want %q", got, want)
	}

	b.mu.Lock()
	gap, n := b.tracks[audioID].maxGap, b.tracks[audioID].count
	b.mu.Unlock()
	t.Logf("B read %d audio packets; longest gap %v", n, gap)
	// Audio is sent every 20 ms; a renegotiation may pause it briefly, never for long.
	if gap > 3*time.Second {
		t.Errorf("audio stalled for %v during renegotiation", gap)
	}
}
