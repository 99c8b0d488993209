package recording_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/recording"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// wait waits for ch, failing the test after a generous deadline.
func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// fakeS3 is an in-process S3 (gofakes3) on 127.0.0.1 with one bucket.
type fakeS3 struct {
	backend *s3mem.Backend
	target  s3upload.Target
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("recordings"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return &fakeS3{backend: backend, target: s3upload.Target{
		Credentials: s3upload.Credentials{AccessKeyID: "key", SecretAccessKey: "secret", Region: "eu-central-1", Bucket: "recordings"},
		Endpoint:    strings.TrimPrefix(srv.URL, "http://"),
		Insecure:    true,
	}}
}

func (f *fakeS3) keys(t testing.TB) []string {
	t.Helper()
	list, err := f.backend.ListBucket(f.target.Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

func (f *fakeS3) object(t testing.TB, key string) []byte {
	t.Helper()
	obj, err := f.backend.GetObject(f.target.Bucket, key, nil)
	if err != nil {
		t.Fatalf("object %s: %v (bucket: %v)", key, err, f.keys(t))
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env is an engine with the recording factory (S3 credentials from the "environment", pointing
// at a fake S3) and an H.264 room.
type env struct {
	engine *jellyfish.Engine
	room   *jellyfish.Room
	base   string
	s3     *fakeS3
}

func newEnv(t *testing.T, mod func(*recording.Config)) *env {
	t.Helper()
	log := testlog.New(t, slog.LevelInfo)
	s3 := newFakeS3(t)
	base := t.TempDir()
	target := s3.target
	cfg := recording.Config{Base: base, Enabled: true, S3: &target}
	if mod != nil {
		mod(&cfg)
	}
	e, err := jellyfish.New(jellyfish.Config{Logger: log, ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{
		jellyfish.ComponentRecording: recording.Factory(cfg),
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() }) // before the fake S3 closes: Close waits for uploads
	room, err := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	return &env{engine: e, room: room, base: base, s3: s3}
}

func (e *env) addRecorder(t testing.TB, options string) *jellyfish.ComponentMember {
	t.Helper()
	var raw json.RawMessage
	if options != "" {
		raw = json.RawMessage(options)
	}
	m, err := e.room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRecording, Options: raw})
	if err != nil {
		t.Fatalf("add recorder %s: %v", options, err)
	}
	return m
}

func (e *env) startSource(t testing.TB, s jellyfish.Component) *jellyfish.ComponentMember {
	t.Helper()
	m, err := e.room.StartComponent("source", s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parts lists the part directories of the room, oldest first.
func (e *env) parts(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.base, "raw_recordings", e.room.ID()))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, d := range entries {
		dirs = append(dirs, filepath.Join(e.base, "raw_recordings", e.room.ID(), d.Name()))
	}
	return dirs
}

// probe is what ffprobe says about a recorded file.
type probe struct {
	Codec    string
	Width    int
	Height   int
	Duration float64 // seconds
	Frames   int     // decoded frames (video) or packets (audio)
}

func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	out, err := exec.Command("/usr/bin/ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ffprobe %s: %v: %s", path, err, ee.Stderr)
		}
		t.Fatalf("ffprobe %s (ffprobe is required at /usr/bin/ffprobe): %v", path, err)
	}
	var res struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v, %d streams, want 1: %s", path, err, len(res.Streams), out)
	}
	s := res.Streams[0]
	d, _ := strconv.ParseFloat(res.Format.Duration, 64)
	n, _ := strconv.Atoi(s.NbReadFrames)
	return probe{Codec: s.CodecName, Width: s.Width, Height: s.Height, Duration: d, Frames: n}
}

// mp4Files returns the .mp4 files of a directory by name.
func mp4Files(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".mp4") {
			names = append(names, e.Name())
		}
	}
	return names
}

// reportOf reads a part's report.json.
type reportFile struct {
	RoomID      string `json:"roomId"`
	ComponentID string `json:"componentId"`
	Start       string `json:"start"`
	Tracks      []struct {
		TrackID    string          `json:"trackId"`
		EndpointID string          `json:"endpointId"`
		Kind       string          `json:"kind"`
		Codec      string          `json:"codec"`
		File       string          `json:"file"`
		Metadata   json.RawMessage `json:"metadata"`
		DurationMs int64           `json:"durationMs"`
		Samples    int             `json:"samples"`
	} `json:"tracks"`
}

func reportOf(t testing.TB, dir string) reportFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reportFile
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json: %v: %s", err, b)
	}
	return r
}

// trackFile is the file name the recorder gives a track id.
func trackFile(id string) string {
	return strings.NewReplacer(":", "_").Replace(id) + ".mp4"
}
