package hls

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// TestPersistentRecording: a persistent stream leaves a complete VOD directory under
// recordings/<room>: master and media playlists (ENDLIST), init files and every segment,
// including the one being written when the room ended; ffprobe reads it as one stream.
func TestPersistentRecording(t *testing.T) {
	t.Parallel()
	for _, ll := range []bool{false, true} {
		t.Run(fmt.Sprintf("lowLatency=%v", ll), func(t *testing.T) {
			t.Parallel()
			testPersistentRecording(t, ll)
		})
	}
}

func testPersistentRecording(t *testing.T, lowLatency bool) {
	h := newHarness(t, Config{})
	h.publish(true, true)
	start := time.Now()
	h.addHLS(fmt.Sprintf(`{"transcode": false, "persistent": true, "lowLatency": %v}`, lowLatency))
	dir := filepath.Join(h.base, "recordings", h.room.ID())
	h.events.waitFor(t, "HlsPlayable", isPlayable)
	// Stop in the middle of a segment: its media must be kept too.
	time.Sleep(testSegment / 2)
	if err := h.e.DeleteRoom(h.room.ID()); err != nil {
		t.Fatal(err)
	}
	streamed := time.Since(start)

	names := dirNames(t, dir)
	for _, want := range []string{"index.m3u8", "video1_stream.m3u8", "video1_init.mp4", "audio2_stream.m3u8", "audio2_init.mp4"} {
		if !slices.Contains(names, want) {
			t.Fatalf("recording: %s missing from %v", want, names)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "video1_stream.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	pl := parseMedia(t, b)
	if !pl.Endlist || pl.PlaylistType == nil || *pl.PlaylistType != "VOD" || len(pl.Segments) < 2 {
		t.Fatalf("video playlist: want a VOD playlist with ENDLIST and 2+ segments:\n%s", b)
	}
	var total time.Duration
	for _, s := range pl.Segments {
		total += s.Duration
		if _, err := os.Stat(filepath.Join(dir, s.URI)); err != nil {
			t.Fatalf("segment %s: %v", s.URI, err)
		}
	}
	// The stream starts at the first keyframe the HLS component gets (at most a second after
	// it was added) and its last segment is closed rather than dropped.
	if total < streamed-1500*time.Millisecond {
		t.Fatalf("recorded %v of a %v stream: the end is missing", total, streamed)
	}
	t.Logf("recorded %v of a %v stream", total, streamed)
	for _, n := range names {
		if strings.Count(n, "_") > 1 { // gohlslib's prefixed live files
			t.Fatalf("recording: leftover live file %s", n)
		}
	}
	p := probe(t, filepath.Join(dir, "index.m3u8"))
	if p.codec("video") != "h264" || p.codec("audio") != "opus" || !approx(p.listed(), total, 200*time.Millisecond) {
		t.Fatalf("ffprobe index.m3u8: got %+v, want h264 + opus lasting %v", p, total)
	}
	if _, err := os.Stat(filepath.Join(h.base, "temporary_hls", h.room.ID())); !os.IsNotExist(err) {
		t.Fatalf("temporary_hls: got %v, want nothing there", err)
	}
}

// TestS3Upload: with s3 credentials the output goes to <bucket>/<room>/ once the room ends,
// then HlsUploaded (HlsUploadCrashed when the upload fails), and the temporary output is
// removed either way.
func TestS3Upload(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	if err := backend.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	srv := newS3Server(t, backend)
	h := newHarness(t, Config{S3Endpoint: srv, S3Insecure: true})
	h.publish(true, true)
	h.addHLS(`{"transcode": false, "s3": {"accessKeyId": "k", "secretAccessKey": "s", "region": "eu-central-1", "bucket": "bucket"}}`)
	okRoom := h.room
	if s, _ := h.hls.Properties()["s3"]; s != nil {
		t.Fatalf("properties: s3 got %v, want null", s)
	}
	// A second room uploading to a bucket that does not exist.
	bad, err := h.e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.StartComponent("publisher", &publisher{media: mustFixture(t), video: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentHLS,
		Options: []byte(`{"transcode": false, "s3": {"accessKeyId": "k", "secretAccessKey": "s", "region": "eu-central-1", "bucket": "nope"}}`)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*jellyfish.Room{okRoom, bad} {
		id := r.ID()
		h.events.waitFor(t, "HlsPlayable", func(e jellyfish.Event) bool { return isPlayable(e) && e.Room() == id })
	}
	for _, r := range []*jellyfish.Room{okRoom, bad} {
		if err := h.e.DeleteRoom(r.ID()); err != nil {
			t.Fatal(err)
		}
	}
	h.events.waitFor(t, "HlsUploaded", func(e jellyfish.Event) bool { return e == jellyfish.HlsUploaded{RoomID: okRoom.ID()} })
	h.events.waitFor(t, "HlsUploadCrashed", func(e jellyfish.Event) bool { return e == jellyfish.HlsUploadCrashed{RoomID: bad.ID()} })

	list, err := backend.ListBucket("bucket", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, c := range list.Contents {
		keys[c.Key] = true
	}
	prefix := okRoom.ID() + "/"
	for _, want := range []string{"index.m3u8", "video1_stream.m3u8", "video1_init.mp4", "audio2_stream.m3u8", "audio2_init.mp4", "video1_seg0.mp4", "audio2_seg0.mp4"} {
		if !keys[prefix+want] {
			t.Fatalf("bucket: %s missing from %v", prefix+want, keys)
		}
	}
	obj, err := backend.GetObject("bucket", prefix+"video1_stream.m3u8", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if ct := obj.Metadata["Content-Type"]; ct != "application/vnd.apple.mpegurl" || !bytes.Contains(body, []byte("#EXT-X-ENDLIST")) {
		t.Fatalf("uploaded playlist: content type %q:\n%s", ct, body)
	}
	tmp := filepath.Join(h.base, "temporary_hls")
	waitFor(t, "the temporary output to be removed", func() bool { return len(dirNames(t, tmp)) == 0 })
}

func newS3Server(t *testing.T, backend *s3mem.Backend) string {
	t.Helper()
	srv := newLocalServer(t, gofakes3.New(backend).Server())
	return strings.TrimPrefix(srv, "http://")
}

// dirNames lists a directory (nil when it does not exist).
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
