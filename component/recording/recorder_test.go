package recording_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/recording"
)

var partPattern = regexp.MustCompile(`^part_\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}Z$`)

// checkVideo probes a recorded H.264 file: codec, size, decoded frames and duration.
func checkVideo(t *testing.T, path string, frames int) {
	t.Helper()
	p := ffprobe(t, path)
	want := float64(frames) / 30
	if p.Codec != "h264" || p.Width != 320 || p.Height != 240 || p.Frames != frames || math.Abs(p.Duration-want) > 0.1 {
		t.Errorf("%s: %+v, want h264 320x240, %d frames, %.2f s", filepath.Base(path), p, frames, want)
	}
}

// checkAudio probes a recorded Opus file: codec, packets and duration (within 0.1 s of the
// packets' 20 ms each).
func checkAudio(t *testing.T, path string, minPackets, maxPackets int) {
	t.Helper()
	p := ffprobe(t, path)
	if p.Codec != "opus" || p.Frames < minPackets || p.Frames > maxPackets ||
		math.Abs(p.Duration-float64(p.Frames)*0.02) > 0.1 {
		t.Errorf("%s: %+v, want opus, %d to %d packets of 20 ms", filepath.Base(path), p, minPackets, maxPackets)
	}
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// partDir returns a recorder's part directory, waiting until its Run created it.
func partDir(t *testing.T, m *jellyfish.ComponentMember) string {
	t.Helper()
	rec := m.Component().(*recording.Recorder)
	deadline := time.Now().Add(10 * time.Second)
	for rec.Dir() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the recorder made no part directory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return rec.Dir()
}

// waitFiles waits until dir holds n .mp4 files: a track's file appears with its first
// complete frame, so a source paused after that has been attached to the recorder.
func waitFiles(t *testing.T, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(mp4Files(t, dir)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %d .mp4 files", dir, mp4Files(t, dir), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitKeys polls the fake S3 until it holds every key (uploads run after the removal returned).
func waitKeys(t *testing.T, e *env, keys []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		have := e.s3.keys(t)
		missing := 0
		for _, k := range keys {
			if !slices.Contains(have, k) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket holds %q, want %q", have, keys)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRecordAndUpload records a video and an audio track from start to end, then checks the
// files with ffprobe, report.json, and the upload under <prefix>/<room>/<part>/.
func TestRecordAndUpload(t *testing.T) {
	video, audio := fixtures(t)
	prefix := "env/prefix"
	e := newEnv(t, func(c *recording.Config) { c.PathPrefix = &prefix })
	rec := e.addRecorder(t, "")
	src := newSource(video, audio)
	src.finish = true
	srcMember := e.startSource(t, src)
	wait(t, src.done, "the source")
	if err := e.room.RemoveComponent(rec.ID()); err != nil {
		t.Fatal(err)
	}

	parts := e.parts(t)
	if len(parts) != 1 || !partPattern.MatchString(filepath.Base(parts[0])) {
		t.Fatalf("part directories %q, want one named like part_2024-05-15 09:04:37.123456Z", parts)
	}
	dir := parts[0]
	tracks := srcMember.Info().Tracks // empty: the source finished; take the ids from the report
	if len(tracks) != 0 {
		t.Fatalf("source still has tracks %v", tracks)
	}
	rep := reportOf(t, dir)
	if rep.RoomID != e.room.ID() || rep.ComponentID != rec.ID() || "part_"+rep.Start != filepath.Base(dir) || len(rep.Tracks) != 2 {
		t.Fatalf("report %+v, want room %s, component %s, start of %s, 2 tracks", rep, e.room.ID(), rec.ID(), filepath.Base(dir))
	}
	files := map[string]string{} // kind -> file
	for _, tr := range rep.Tracks {
		if tr.EndpointID != srcMember.ID() || !strings.HasPrefix(tr.TrackID, srcMember.ID()+":") || tr.File != trackFile(tr.TrackID) {
			t.Errorf("report track %+v, want endpoint %s and file %s", tr, srcMember.ID(), trackFile(tr.TrackID))
		}
		files[tr.Kind] = tr.File
		switch tr.Kind {
		case "video":
			if tr.Codec != "video/H264" || tr.Samples != fixtureFrames || compact(tr.Metadata) != `{"name":"camera"}` {
				t.Errorf("video report %+v", tr)
			}
		case "audio":
			if tr.Codec != "audio/opus" || tr.Samples < fixturePackets-5 || compact(tr.Metadata) != "null" {
				t.Errorf("audio report %+v", tr)
			}
		}
	}
	if got := mp4Files(t, dir); len(got) != 2 || files["video"] == "" || files["audio"] == "" {
		t.Fatalf("files %q, report %v", got, files)
	}
	checkVideo(t, filepath.Join(dir, files["video"]), fixtureFrames)
	checkAudio(t, filepath.Join(dir, files["audio"]), fixturePackets-5, fixturePackets)

	key := "env/prefix/" + e.room.ID() + "/" + filepath.Base(dir) + "/"
	keys := []string{key + files["video"], key + files["audio"], key + "report.json"}
	waitKeys(t, e, keys)
	for _, k := range keys {
		local, err := os.ReadFile(filepath.Join(dir, filepath.Base(k)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.s3.object(t, k), local) {
			t.Errorf("object %s differs from the local file", k)
		}
	}
	if n := len(e.s3.keys(t)); n != 3 {
		t.Errorf("bucket holds %d objects %q, want 3", n, e.s3.keys(t))
	}
}

// TestReAddMakesSecondPart: a recorder removed and added again writes a second part directory,
// and the tracks that were already published are recorded by the new one (from a keyframe).
func TestReAddMakesSecondPart(t *testing.T) {
	video, _ := fixtures(t)
	e := newEnv(t, nil)
	src := newSource(video, nil)
	src.pause = 30
	e.startSource(t, src)
	first := e.addRecorder(t, `{"subscribeMode": "auto", "pathPrefix": null, "credentials": null}`)
	waitFiles(t, partDir(t, first), 1)
	wait(t, src.paused, "the first second")
	if err := e.room.RemoveComponent(first.ID()); err != nil {
		t.Fatal(err)
	}
	second := e.addRecorder(t, "")
	waitFiles(t, partDir(t, second), 1) // attached: it got the replay of frames 0-29
	close(src.resume)
	wait(t, src.done, "the source")
	if err := e.room.RemoveComponent(second.ID()); err != nil {
		t.Fatal(err)
	}

	parts := e.parts(t)
	if len(parts) != 2 || parts[0] == parts[1] {
		t.Fatalf("part directories %q, want 2", parts)
	}
	var keys []string
	for i, dir := range parts {
		rep := reportOf(t, dir)
		if want := []string{first.ID(), second.ID()}[i]; rep.ComponentID != want || len(rep.Tracks) != 1 {
			t.Fatalf("part %d: report %+v, want component %s and one track", i, rep, want)
		}
		// The first recorder got the first second (frames a removal caught in the sink's
		// queue are lost); the second one the GOP replayed from frame 0, then the rest.
		path := filepath.Join(dir, rep.Tracks[0].File)
		if i == 0 {
			p := ffprobe(t, path)
			if p.Codec != "h264" || p.Frames < 1 || p.Frames > 30 || p.Frames != rep.Tracks[0].Samples ||
				math.Abs(p.Duration-float64(p.Frames)/30) > 0.1 {
				t.Errorf("first part: %+v (report: %d samples), want h264 with up to 30 frames at 30 fps", p, rep.Tracks[0].Samples)
			}
		} else {
			checkVideo(t, path, fixtureFrames)
		}
		k := e.room.ID() + "/" + filepath.Base(dir) + "/"
		keys = append(keys, k+rep.Tracks[0].File, k+"report.json")
	}
	waitKeys(t, e, keys)
}

// TestManualSubscribe: a manual recorder records nothing until it is subscribed to an origin,
// then only that origin's tracks.
func TestManualSubscribe(t *testing.T) {
	video, audio := fixtures(t)
	e := newEnv(t, nil)
	rec := e.addRecorder(t, `{"subscribeMode": "manual"}`)
	if got, _ := json.Marshal(rec.Info().Properties); string(got) != `{"subscribeMode":"manual"}` {
		t.Errorf("properties %s", got)
	}
	a, b := newSource(video, audio), newSource(nil, audio)
	a.pause, b.pause = 30, 30
	am := e.startSource(t, a)
	e.startSource(t, b)
	wait(t, a.paused, "source a's first second")
	dir := partDir(t, rec)
	if files := mp4Files(t, dir); len(files) != 0 {
		t.Fatalf("a manual recorder wrote %q before any subscription", files)
	}
	if err := e.room.SubscribeComponent(rec.ID(), []string{am.ID()}); err != nil {
		t.Fatal(err)
	}
	waitFiles(t, dir, 1) // the video track is attached (its first GOP replayed)
	close(a.resume)
	close(b.resume)
	wait(t, a.done, "source a")
	if err := e.room.RemoveComponent(rec.ID()); err != nil {
		t.Fatal(err)
	}
	rep := reportOf(t, dir)
	if len(rep.Tracks) != 2 {
		t.Fatalf("report lists %d tracks, want source a's 2: %+v", len(rep.Tracks), rep)
	}
	for _, tr := range rep.Tracks {
		if tr.EndpointID != am.ID() {
			t.Errorf("recorded track %s of %s, want only %s's", tr.TrackID, tr.EndpointID, am.ID())
		}
		path := filepath.Join(dir, tr.File)
		if tr.Kind == "video" {
			checkVideo(t, path, fixtureFrames) // the last GOP (all of it) is replayed to a new subscriber
		} else {
			checkAudio(t, path, 40, 50) // audio has no replay: the second second only
		}
	}
}

// TestEngineCloseFinishesAndUploads: closing the engine with a recorder running leaves complete
// files, and Close returns only after the upload.
func TestEngineCloseFinishesAndUploads(t *testing.T) {
	video, audio := fixtures(t)
	e := newEnv(t, nil)
	rec := e.addRecorder(t, "")
	src := newSource(video, audio) // keeps its tracks until the engine closes
	src.pause = 45
	srcMember := e.startSource(t, src)
	wait(t, src.paused, "a second and a half")
	dir := partDir(t, rec)

	// A crash now would leave the first fragment (one second) playable: copy the file as it is
	// on disk and probe the copy.
	var videoFile string
	for _, tr := range srcMember.Info().Tracks {
		if tr.Type == jellyfish.TrackTypeVideo {
			videoFile = filepath.Join(dir, trackFile(tr.ID))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(videoFile); err == nil && st.Size() > 4000 { // more than the init segment
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no fragment was written in the first second and a half")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, err := os.ReadFile(videoFile)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "crashed.mp4")
	if err := os.WriteFile(crashed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkVideo(t, crashed, 30)

	close(src.resume)
	wait(t, src.done, "the source")
	if err := e.engine.Close(); err != nil {
		t.Fatal(err)
	}
	rep := reportOf(t, dir)
	if len(rep.Tracks) != 2 {
		t.Fatalf("report %+v, want 2 tracks", rep)
	}
	have := e.s3.keys(t) // no polling: Close waited for the upload
	for _, tr := range rep.Tracks {
		path := filepath.Join(dir, tr.File)
		if tr.Kind == "video" {
			checkVideo(t, path, fixtureFrames)
		} else {
			checkAudio(t, path, fixturePackets-5, fixturePackets)
		}
		if k := e.room.ID() + "/" + filepath.Base(dir) + "/" + tr.File; !slices.Contains(have, k) {
			t.Errorf("bucket holds %q, want %s", have, k)
		}
	}
}

// TestUploadFailureKeepsFiles: an unreachable S3 only costs the upload; the files stay.
func TestUploadFailureKeepsFiles(t *testing.T) {
	_, audio := fixtures(t)
	e := newEnv(t, func(c *recording.Config) {
		bad := *c.S3
		bad.Bucket = "no-such-bucket"
		c.S3 = &bad
	})
	rec := e.addRecorder(t, "")
	src := newSource(nil, audio[:25])
	src.finish = true
	e.startSource(t, src)
	wait(t, src.done, "the source")
	dir := partDir(t, rec)
	if err := e.room.RemoveComponent(rec.ID()); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Close(); err != nil { // waits for the (failing) upload
		t.Fatal(err)
	}
	if keys := e.s3.keys(t); len(keys) != 0 {
		t.Errorf("bucket holds %q, want nothing", keys)
	}
	files := mp4Files(t, dir)
	if len(files) != 1 {
		t.Fatalf("files %q, want one", files)
	}
	checkAudio(t, filepath.Join(dir, files[0]), 20, 25)
}

// TestNothingRecordedNoUpload: a recorder that saw no track writes an empty report and uploads
// nothing.
func TestNothingRecordedNoUpload(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.addRecorder(t, "")
	dir := partDir(t, rec)
	if err := e.room.RemoveComponent(rec.ID()); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Close(); err != nil {
		t.Fatal(err)
	}
	if rep := reportOf(t, dir); len(rep.Tracks) != 0 {
		t.Errorf("report %+v, want no tracks", rep)
	}
	if keys := e.s3.keys(t); len(keys) != 0 {
		t.Errorf("bucket holds %q, want nothing", keys)
	}
}

// vp8Source publishes a VP8 track (possible for a Go component even in an H.264 room), then an
// Opus track it feeds until stopped: once the Opus file exists, the VP8 track was offered.
type vp8Source struct{ opus []byte }

func (s vp8Source) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	vp8, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: webrtc.RTPCodecParameters{
		PayloadType: 97, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}})
	if err != nil {
		return err
	}
	audio, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeAudio, Codec: opusCodec})
	if err != nil {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := uint16(0); ; i++ {
		// A VP8 keyframe start (S=1, PID=0; P=0 in the payload header) and an Opus packet.
		if err := vp8.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 97, SequenceNumber: i, Timestamp: uint32(i) * 1800, Marker: true},
			Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}}); err != nil {
			return err
		}
		if err := audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: i, Timestamp: uint32(i) * 960},
			Payload: s.opus}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// TestVP8Skipped: a track in a codec the recorder does not record is declined.
func TestVP8Skipped(t *testing.T) {
	_, audio := fixtures(t)
	e := newEnv(t, nil)
	rec := e.addRecorder(t, "")
	e.startSource(t, vp8Source{opus: audio[0]})
	dir := partDir(t, rec)
	waitFiles(t, dir, 1)
	if err := e.room.RemoveComponent(rec.ID()); err != nil {
		t.Fatal(err)
	}
	rep := reportOf(t, dir)
	if files := mp4Files(t, dir); len(files) != 1 || len(rep.Tracks) != 1 || rep.Tracks[0].Kind != "audio" {
		t.Errorf("files %q, report %+v; want the audio track only", files, rep)
	}
}
