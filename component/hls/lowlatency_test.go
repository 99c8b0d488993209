package hls

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// TestLowLatency: LL-HLS as Jellyfish serves it: a blocking playlist reload (_HLS_msn and
// _HLS_part) waits for the part and returns the playlist; _HLS_skip gives the delta playlist;
// parts are served, the preload-hinted one once it exists. A client that leaves ends its wait.
func TestLowLatency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.publish(true, true)
	h.addHLS(`{"transcode": false, "lowLatency": true, "targetWindowDuration": 10}`)
	h.waitPlayable()
	if got := h.hls.Properties()["targetWindowDuration"]; got != int64(10) {
		t.Fatalf("targetWindowDuration property: got %v (%T)", got, got)
	}
	master := parseMaster(t, h.mustGet("index.m3u8"))
	video := master.Variants[0].URI
	pl := h.mediaPlaylist(video)
	if pl.PartInf == nil || pl.ServerControl == nil || !pl.ServerControl.CanBlockReload || pl.PreloadHint == nil {
		t.Fatalf("LL-HLS playlist: want PART-INF, SERVER-CONTROL with blocking reload and a preload hint: %+v", pl)
	}

	// Blocking reload: two parts ahead of the playlist.
	msn, part := pl.MediaSequence+len(pl.Segments), len(pl.Parts)+1
	began := time.Now()
	status, ctype, body := h.get(fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", video, msn, part))
	if status != 200 || ctype != "application/vnd.apple.mpegurl" {
		t.Fatalf("blocking reload: got %d %q %s", status, ctype, body)
	}
	after := parseMedia(t, body)
	if position(after) < msn*1000+part+1 {
		t.Fatalf("blocking reload returned before part %d.%d: got a playlist up to %d (after %v)", msn, part, position(after), time.Since(began))
	}

	// Delta playlists, asked either way.
	for _, name := range []string{video + "?_HLS_skip=YES", strings.TrimSuffix(video, ".m3u8") + "_delta.m3u8"} {
		status, _, body := h.get(name)
		if status != 200 || !strings.Contains(string(body), "#EXT-X-SKIP:SKIPPED-SEGMENTS=") {
			t.Fatalf("%s: got %d, want a delta playlist:\n%s", name, status, body)
		}
	}

	// Parts, and the preload hint once it exists.
	pl = h.mediaPlaylist(video)
	if len(pl.Parts) == 0 && len(pl.Segments[len(pl.Segments)-1].Parts) == 0 {
		t.Fatalf("no parts listed:\n%+v", pl)
	}
	partURI := pl.Segments[len(pl.Segments)-1].Parts[0].URI
	p := probeBytes(t, "part.mp4", h.mustGet(pl.Map.URI), h.mustGet(partURI))
	if p.codec("video") != "h264" || p.duration() <= 0 || p.duration() > time.Second {
		t.Fatalf("part %s: got %+v", partURI, p)
	}
	if hint := h.mustGet(pl.PreloadHint.URI); len(hint) == 0 {
		t.Fatalf("preload hint %s: empty", pl.PreloadHint.URI)
	}

	// A client that gives up ends its request (the part it waits for is far ahead).
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/%s?_HLS_msn=%d&_HLS_part=50", h.url, video, msn+1), nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("far-ahead blocking reload: got %d, want the client's deadline", res.StatusCode)
	}

	status, _, body = h.get(video + "?_HLS_msn=x&_HLS_part=0")
	if status != 500 || string(body) != `{"errors":{"detail":"Internal Server Error"}}` {
		t.Fatalf("non-integer _HLS_msn: got %d %s", status, body)
	}
	// A stopping component ends the waits: delete the room while one is pending.
	done := make(chan int, 1)
	go func() {
		status, _, _ := h.get(fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=50", video, msn+1))
		done <- status
	}()
	time.Sleep(100 * time.Millisecond) // let it start waiting (the test holds either way)
	if err := h.e.DeleteRoom(h.room.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case status := <-done:
		if status != 404 {
			t.Fatalf("pending reload when the component stopped: got %d, want 404", status)
		}
	case <-time.After(deadline):
		t.Fatal("a pending blocking reload outlived the component")
	}
}

// position is how far a playlist reaches: 1000 × the number of the segment in progress plus
// its finished parts.
func position(pl *playlist.Media) int {
	return 1000*(pl.MediaSequence+len(pl.Segments)) + len(pl.Parts)
}
