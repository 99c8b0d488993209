package file_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// waitTimeout bounds every wait of these tests. It is generous (the race detector on two slow
// cores); a passing test never waits for it.
const waitTimeout = 20 * time.Second

// ffmpeg runs ffmpeg with args and fails the test if it is missing or fails. It waits for the
// process, so none outlives the test.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	runTool(t, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
}

func runTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test (apt-get install ffmpeg): %v", name, err)
	}
	out, err := exec.CommandContext(t.Context(), path, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr)
	}
	return out
}

// makeH264 writes a 320x240 constrained-baseline H.264 Annex-B file of the given length at fps
// frames a second, with an IDR (and SPS/PPS in band) every gop frames and no other.
func makeH264(t testing.TB, path string, seconds float64, fps, gop int) {
	t.Helper()
	ffmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=320x240:rate=%d", fps),
		"-t", strconv.FormatFloat(seconds, 'f', -1, 64),
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", strconv.Itoa(gop),
		"-x264-params", fmt.Sprintf("keyint=%d:min-keyint=%d:scenecut=0", gop, gop),
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", path)
}

// makeOgg writes an Opus-in-Ogg sine of the given length (libopus: 20 ms packets).
func makeOgg(t testing.TB, path string, seconds float64) {
	t.Helper()
	ffmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%s", strconv.FormatFloat(seconds, 'f', -1, 64)),
		"-c:a", "libopus", "-f", "ogg", path)
}

// probeFrames counts the video frames of a file with ffprobe.
func probeFrames(t testing.TB, path string) int {
	t.Helper()
	out := runTool(t, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "json", path)
	var v struct {
		Streams []struct {
			N string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	n, err := strconv.Atoi(v.Streams[0].N)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sourcesDir makes <base>/file_component_sources and returns base and it.
func sourcesDir(t testing.TB) (base, dir string) {
	t.Helper()
	base = t.TempDir()
	dir = filepath.Join(base, "file_component_sources")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, dir
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
