package hls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// TestPassthroughHLS: transcode=false forwards the publisher's H.264 and Opus; the playlists
// served through ServeFile become playable, HlsPlayable comes once, and the segments hold
// what was published. The temporary output is gone once the room is.
func TestPassthroughHLS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.publish(true, true)
	h.addHLS(`{"transcode": false}`)

	// Not playable yet: Jellyfish answers 404 until the playlist exists.
	if status, _, body := h.get("index.m3u8"); status != http.StatusNotFound || string(body) != `{"errors":"File not found"}` {
		t.Fatalf("index.m3u8 at once: got %d %s, want 404", status, body)
	}
	h.waitPlayable()
	h.events.waitFor(t, "HlsPlayable", func(e jellyfish.Event) bool {
		return e == jellyfish.HlsPlayable{RoomID: h.room.ID(), ComponentID: h.hlsID}
	})
	props, _ := json.Marshal(h.hls.Properties())
	if want := `{"lowLatency":false,"persistent":false,"playable":true,"s3":null,"subscribeMode":"auto","targetWindowDuration":null,"transcode":false}`; string(props) != want {
		t.Fatalf("properties: got %s, want %s", props, want)
	}

	status, ctype, body := h.get("index.m3u8")
	if status != 200 || ctype != "application/vnd.apple.mpegurl" {
		t.Fatalf("index.m3u8: got %d %q", status, ctype)
	}
	master := parseMaster(t, body)
	if len(master.Variants) != 1 || len(master.Renditions) != 1 || master.Renditions[0].URI == nil {
		t.Fatalf("master playlist: want one variant and one audio rendition:\n%s", body)
	}
	videoPl := h.mediaPlaylist(master.Variants[0].URI)
	audioPl := h.mediaPlaylist(*master.Renditions[0].URI)
	if len(videoPl.Segments) < 2 || videoPl.Map == nil || audioPl.Map == nil || len(audioPl.Segments) < 2 {
		t.Fatalf("media playlists: want 2 segments and an init each: %+v %+v", videoPl, audioPl)
	}
	seg := videoPl.Segments[0]
	if !approx(seg.Duration, testSegment, 100*time.Millisecond) {
		t.Fatalf("segment duration: got %v, want about %v", seg.Duration, testSegment)
	}
	p := probeBytes(t, "video.mp4", h.mustGet(videoPl.Map.URI), h.mustGet(seg.URI))
	if p.codec("video") != "h264" || p.Streams[0].Width != fixtureWidth || p.Streams[0].Height != fixtureHeight ||
		!approx(p.duration(), testSegment, 300*time.Millisecond) {
		t.Fatalf("video segment: got %+v", p)
	}
	p = probeBytes(t, "audio.mp4", h.mustGet(audioPl.Map.URI), h.mustGet(audioPl.Segments[0].URI))
	if p.codec("audio") != "opus" || !approx(p.duration(), testSegment, 300*time.Millisecond) {
		t.Fatalf("audio segment: got %+v", p)
	}

	// Files: errors as in Jellyfish.
	if status, _, body := h.get("nope.mp4"); status != 404 || string(body) != `{"errors":"File not found"}` {
		t.Fatalf("missing file: got %d %s", status, body)
	}
	rec := httptest.NewRecorder()
	h.hls.ServeFile(rec, httptest.NewRequest("GET", "/x", nil), "../secret.m3u8")
	if rec.Code != 400 || rec.Body.String() != `{"errors":"Invalid filename, got ../secret.m3u8"}` {
		t.Fatalf("escaping name: got %d %s", rec.Code, rec.Body)
	}
	// Not LL-HLS: no delta playlists.
	if status, _, _ := h.get(master.Variants[0].URI + "?_HLS_skip=YES"); status != 404 {
		t.Fatalf("_HLS_skip without lowLatency: got %d, want 404", status)
	}

	dir := filepath.Join(h.base, "temporary_hls", h.room.ID())
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("output directory: %v", err)
	}
	if err := h.e.DeleteRoom(h.room.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary output after the room ended: got %v, want it removed", err)
	}
	if n := h.events.count(isPlayable); n != 1 {
		t.Fatalf("HlsPlayable: got %d, want 1", n)
	}
}

// TestPassthroughSwitchesSource: in manual mode the component takes the tracks of the
// endpoints it is subscribed to; transcode=false forwards the first publisher and, when it
// leaves, continues with the next one.
func TestPassthroughSwitchesSource(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	first := h.publish(true, true)
	second := h.publish(true, true)
	h.addHLS(`{"transcode": false, "subscribeMode": "manual"}`)
	if err := h.room.SubscribeComponent(h.hlsID, []string{first.ID(), second.ID()}); err != nil {
		t.Fatal(err)
	}
	h.waitPlayable()
	video := parseMaster(t, h.mustGet("index.m3u8")).Variants[0].URI
	before := h.mediaPlaylist(video)
	if err := h.room.RemoveComponent(first.ID()); err != nil {
		t.Fatal(err)
	}
	// The first source was taken: the stream goes on only if the second one takes over.
	waitFor(t, "two more segments from the second publisher", func() bool {
		pl := h.mediaPlaylist(video)
		return pl.MediaSequence+len(pl.Segments) >= before.MediaSequence+len(before.Segments)+2
	})
	pl := h.mediaPlaylist(video)
	last := pl.Segments[len(pl.Segments)-1]
	p := probeBytes(t, "video.mp4", h.mustGet(pl.Map.URI), h.mustGet(last.URI))
	if p.codec("video") != "h264" || !approx(p.duration(), last.Duration, 100*time.Millisecond) {
		t.Fatalf("segment after the switch: got %+v, want h264 lasting %v", p, last.Duration)
	}
}

// TestPassthroughLipSync: audio and video stay in step, also when the component joins a
// publisher mid-GOP (the room replays the video since the last keyframe at once). The clip's
// pictures and packets both repeat every 2 s, so a sample's place in the clip tells when it
// was published.
func TestPassthroughLipSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.publish(true, true)
	time.Sleep(1400 * time.Millisecond) // join 0.4 s after a keyframe (setup, not an assertion)
	h.addHLS(`{"transcode": false}`)
	h.waitPlayable()
	master := parseMaster(t, h.mustGet("index.m3u8"))
	videoPl := h.mediaPlaylist(master.Variants[0].URI)
	audioPl := h.mediaPlaylist(*master.Renditions[0].URI)
	clip := mustFixture(t)

	// The first picture of the first video segment, and the first audio packet at or after it.
	vt, vi := firstSample(t, h.mustGet(videoPl.Segments[0].URI), videoRate, func(p []byte) int {
		for i, au := range clip.video {
			if b, _ := h264.AVCC(au).Marshal(); bytes.Equal(b, p) {
				return i
			}
		}
		return -1
	})
	at, ai := firstSample(t, h.mustGet(audioPl.Segments[0].URI), audioRate, func(p []byte) int {
		return slices.IndexFunc(clip.opus, func(o []byte) bool { return bytes.Equal(o, p) })
	})
	published := time.Duration(ai)*opusFrame - time.Duration(vi)*time.Second/fixtureFPS
	offset := (published - (at - vt)) % (2 * time.Second)
	if offset > time.Second {
		offset -= 2 * time.Second
	} else if offset < -time.Second {
		offset += 2 * time.Second
	}
	if offset < -150*time.Millisecond || offset > 150*time.Millisecond {
		t.Fatalf("audio is %v off the video (picture %d at %v, packet %d at %v)", offset, vi, vt, ai, at)
	}
}

// firstSample returns the time of a segment's first sample and its index in the clip.
func firstSample(t *testing.T, segment []byte, rate int, index func([]byte) int) (time.Duration, int) {
	t.Helper()
	var parts fmp4.Parts
	if err := parts.Unmarshal(segment); err != nil {
		t.Fatal(err)
	}
	if len(parts) == 0 || len(parts[0].Tracks) == 0 || len(parts[0].Tracks[0].Samples) == 0 {
		t.Fatal("empty segment")
	}
	tr := parts[0].Tracks[0]
	i := index(tr.Samples[0].Payload)
	if i < 0 {
		t.Fatal("the segment's first sample is not from the clip")
	}
	return ticksToDuration(int64(tr.BaseTime), rate), i
}
