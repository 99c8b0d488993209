package hls

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// TestCompositeHLS: the default mode composites the room's video on a 1920×1080 canvas and
// mixes its audio (ffmpeg): the segments hold H.264 1920×1080 and AAC; no ffmpeg outlives the
// component.
func TestCompositeHLS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.publish(true, true)
	h.addHLS(`{}`)
	h.waitPlayable()
	h.events.waitFor(t, "HlsPlayable", isPlayable)
	if got := h.hls.Properties(); got["playable"] != true || len(got) != 6 {
		t.Fatalf("properties: got %v", got)
	}
	master := parseMaster(t, h.mustGet("index.m3u8"))
	if len(master.Renditions) != 1 || master.Renditions[0].URI == nil {
		t.Fatalf("master playlist: want an audio rendition: %+v", master)
	}
	videoPl := h.mediaPlaylist(master.Variants[0].URI)
	audioPl := h.mediaPlaylist(*master.Renditions[0].URI)
	seg := videoPl.Segments[len(videoPl.Segments)-1]
	p := probeBytes(t, "video.mp4", h.mustGet(videoPl.Map.URI), h.mustGet(seg.URI))
	if p.codec("video") != "h264" || p.Streams[0].Width != 1920 || p.Streams[0].Height != 1080 {
		t.Fatalf("video segment: got %+v, want h264 1920x1080", p)
	}
	p = probeBytes(t, "audio.mp4", h.mustGet(audioPl.Map.URI), h.mustGet(audioPl.Segments[len(audioPl.Segments)-1].URI))
	if p.codec("audio") != "aac" {
		t.Fatalf("audio segment: got %+v, want aac", p)
	}
	if n := ffmpegChildren(t); n == 0 {
		t.Fatal("no ffmpeg child while compositing")
	}
	if err := h.e.DeleteRoom(h.room.ID()); err != nil {
		t.Fatal(err)
	}
	if n := ffmpegChildren(t); n != 0 {
		t.Fatalf("ffmpeg children after the room ended: got %d, want 0", n)
	}
	if _, err := os.Stat(filepath.Join(h.base, "temporary_hls", h.room.ID())); !os.IsNotExist(err) {
		t.Fatalf("temporary output: got %v, want it removed", err)
	}
	if n := h.events.count(func(e jellyfish.Event) bool { _, ok := e.(jellyfish.ComponentCrashed); return ok }); n != 0 {
		t.Fatalf("ComponentCrashed: got %d", n)
	}
}

// ffmpegChildren counts the ffmpeg processes whose parent is this test binary (zombies too:
// an unwaited child is a leak as well).
func ffmpegChildren(t *testing.T) int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	n := 0
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || s[open+1:end] != "ffmpeg" {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == os.Getpid() {
			n++
		}
	}
	return n
}
