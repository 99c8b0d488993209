package hls

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// Tests use 2 s segments and 0.5 s parts (the defaults are 6 s and 1 s) to stay short.
const (
	testSegment = 2 * time.Second
	testPart    = 500 * time.Millisecond
	deadline    = 30 * time.Second // generous: the machine is slow and tests run in parallel
)

// harness is an engine with one H.264 room, an HLS component and an HTTP server whose
// handler is the component's ServeFile (as the /hls/<room>/ route).
type harness struct {
	t      *testing.T
	base   string
	e      *jellyfish.Engine
	room   *jellyfish.Room
	events *events
	hls    *Component
	hlsID  string
	url    string
}

func testConfig(base string) Config {
	return Config{Base: base, segment: testSegment, part: testPart}
}

// newHarness starts the engine and room; cfg.Base is set to a temporary directory.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	log := testlog.New(t, slog.LevelInfo)
	h := &harness{t: t, base: t.TempDir()}
	cfg.Base = h.base
	if cfg.segment == 0 {
		cfg.segment, cfg.part = testSegment, testPart
	}
	e, err := jellyfish.New(jellyfish.Config{Logger: log,
		ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{jellyfish.ComponentHLS: Factory(cfg)}})
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	t.Cleanup(func() { e.Close() })
	h.events = &events{sub: e.Subscribe(4096)}
	t.Cleanup(h.events.sub.Close)
	if h.room, err = e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264}); err != nil {
		t.Fatal(err)
	}
	return h
}

// publish starts a publisher component in the room.
func (h *harness) publish(video, audio bool) *jellyfish.ComponentMember {
	h.t.Helper()
	m, err := h.room.StartComponent("publisher", &publisher{media: mustFixture(h.t), video: video, audio: audio})
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// addHLS adds the HLS component with the given REST options and serves it over HTTP.
func (h *harness) addHLS(options string) {
	h.t.Helper()
	m, err := h.room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentHLS, Options: json.RawMessage(options)})
	if err != nil {
		h.t.Fatal(err)
	}
	h.hls, h.hlsID = m.Component().(*Component), m.ID()
	h.url = newLocalServer(h.t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hls.ServeFile(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	}))
}

// newLocalServer serves handler on 127.0.0.1 until the test ends; it returns its URL.
func newLocalServer(t *testing.T, handler http.Handler) string {
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return srv.URL
}

// get fetches /<name> from the component's HTTP server.
func (h *harness) get(name string) (status int, contentType string, body []byte) {
	h.t.Helper()
	res, err := http.Get(h.url + "/" + name)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err = io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

// mustGet fetches a file that must exist.
func (h *harness) mustGet(name string) []byte {
	h.t.Helper()
	status, _, body := h.get(name)
	if status != http.StatusOK {
		h.t.Fatalf("GET %s: got %d %s, want 200", name, status, body)
	}
	return body
}

// waitPlayable waits until index.m3u8 is served.
func (h *harness) waitPlayable() {
	h.t.Helper()
	waitFor(h.t, "the HLS stream to become playable", func() bool {
		status, _, _ := h.get("index.m3u8")
		return status == http.StatusOK
	})
}

// mediaPlaylist fetches and parses a media playlist.
func (h *harness) mediaPlaylist(name string) *playlist.Media {
	h.t.Helper()
	return parseMedia(h.t, h.mustGet(name))
}

func parseMedia(t *testing.T, b []byte) *playlist.Media {
	t.Helper()
	var pl playlist.Media
	if err := pl.Unmarshal(b); err != nil {
		t.Fatalf("media playlist: %v\n%s", err, b)
	}
	return &pl
}

func parseMaster(t *testing.T, b []byte) *playlist.Multivariant {
	t.Helper()
	var pl playlist.Multivariant
	if err := pl.Unmarshal(b); err != nil {
		t.Fatalf("master playlist: %v\n%s", err, b)
	}
	return &pl
}

// events reads an engine subscription and remembers what it saw.
type events struct {
	sub  *jellyfish.Subscription
	seen []jellyfish.Event
}

// waitFor waits for an event that matches.
func (ev *events) waitFor(t *testing.T, what string, match func(jellyfish.Event) bool) jellyfish.Event {
	t.Helper()
	for _, e := range ev.seen {
		if match(e) {
			return e
		}
	}
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-ev.sub.Events():
			if !ok {
				t.Fatalf("waiting for %s: subscription ended: %v", what, ev.sub.Err())
			}
			ev.seen = append(ev.seen, e)
			if match(e) {
				return e
			}
		case <-timer.C:
			t.Fatalf("timed out waiting for %s; saw %v", what, ev.seen)
		}
	}
}

// count drains what is pending and counts the events that match.
func (ev *events) count(match func(jellyfish.Event) bool) int {
	for {
		select {
		case e, ok := <-ev.sub.Events():
			if ok {
				ev.seen = append(ev.seen, e)
				continue
			}
		default:
		}
		break
	}
	n := 0
	for _, e := range ev.seen {
		if match(e) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probed is what ffprobe says of a file.
type probed struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration  string `json:"duration"`
		StartTime string `json:"start_time"`
	} `json:"format"`
}

// duration is the media's length: fMP4 segments start where the stream was (gohlslib starts
// at 10 s), which ffprobe counts in the format's duration.
func (p probed) duration() time.Duration {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	s, _ := strconv.ParseFloat(p.Format.StartTime, 64)
	return time.Duration((d - s) * float64(time.Second))
}

// listed is the duration of a playlist (for which ffprobe gives the playlists' total).
func (p probed) listed() time.Duration {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return time.Duration(d * float64(time.Second))
}

// codec returns the codec of the stream of the given type ("" when none).
func (p probed) codec(typ string) string {
	for _, s := range p.Streams {
		if s.CodecType == typ {
			return s.CodecName
		}
	}
	return ""
}

// probe runs ffprobe on a file (or a playlist).
func probe(t *testing.T, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ffprobe %s: %v %s", path, err, stderr)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// probeBytes writes the concatenation of parts to a file and probes it.
func probeBytes(t *testing.T, name string, parts ...[]byte) probed {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, bytes.Join(parts, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return probe(t, path)
}

// approx reports whether got is within tolerance of want.
func approx(got, want, tolerance time.Duration) bool {
	return got >= want-tolerance && got <= want+tolerance
}

func isPlayable(e jellyfish.Event) bool { _, ok := e.(jellyfish.HlsPlayable); return ok }
