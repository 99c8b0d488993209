package hls

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
	"github.com/jellyfish-go/jellyfish/internal/testserver"
)

// TestThroughServer: the server's /hls route reaches ServeFile, and a persistent stream
// becomes a recording the /recording routes list and serve once its room is gone.
func TestThroughServer(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	cfg := Config{Base: base, segment: testSegment, part: testPart}
	srv := testserver.StartWith(t, testlog.New(t, slog.LevelInfo), testserver.Options{
		ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{jellyfish.ComponentHLS: Factory(cfg)},
		ResourcesPath:      base,
	})
	room, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.StartComponent("publisher", &publisher{media: mustFixture(t), video: true, audio: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentHLS,
		Options: json.RawMessage(`{"transcode": false, "persistent": true}`)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string, auth bool) (int, string, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+testserver.Token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), b
	}
	hlsPath := "/hls/" + room.ID() + "/"
	waitFor(t, "the stream over /hls", func() bool { s, _, _ := get(hlsPath+"index.m3u8", false); return s == 200 })
	_, ctype, body := get(hlsPath+"video1_stream.m3u8", false)
	if ctype != "application/vnd.apple.mpegurl" || parseMedia(t, body).Map == nil {
		t.Fatalf("video playlist over /hls: %q\n%s", ctype, body)
	}
	// Live: not a recording yet.
	if s, _, b := get("/recording", true); s != 200 || string(b) != `{"data":[]}` {
		t.Fatalf("GET /recording while live: got %d %s", s, b)
	}
	if err := srv.Engine.DeleteRoom(room.ID()); err != nil {
		t.Fatal(err)
	}
	if s, _, b := get("/recording", true); s != 200 || string(b) != `{"data":["`+room.ID()+`"]}` {
		t.Fatalf("GET /recording after the stream: got %d %s", s, b)
	}
	s, _, b := get("/recording/"+room.ID()+"/video1_stream.m3u8", false)
	if s != 200 || !parseMedia(t, b).Endlist {
		t.Fatalf("recording playlist: got %d\n%s", s, b)
	}
	if s, _, _ := get("/recording/"+room.ID()+"/video1_init.mp4", false); s != 200 {
		t.Fatalf("recording init: got %d", s)
	}
	if s, _, b := get(hlsPath+"index.m3u8", false); s != 404 || string(b) != `{"errors":"File not found"}` {
		t.Fatalf("/hls after the room: got %d %s", s, b)
	}
}
