package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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
)

// post sends a JSON body with the token and decodes {"data": ...} into out (if not nil).
func post(t *testing.T, url, token, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(&struct{ Data any }{out})
	}
	return resp.StatusCode
}

// TestRecordingSurvivesShutdown: the real command plays a file into a room with a recorder,
// then stops as on SIGTERM while both run. The recording is complete (ffprobe reads it, with
// the seconds that were played) and was uploaded to S3 (an in-process gofakes3) before run
// returned; the JF_S3_* credentials and our JF_S3_ENDPOINT/JF_S3_INSECURE are used.
func TestRecordingSurvivesShutdown(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (scripts/install-e2e-deps installs it): %v", tool, err)
		}
	}
	base := t.TempDir()
	sources := filepath.Join(base, "file_component_sources")
	os.MkdirAll(sources, 0o755)
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "20",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-bf", "0", "-pix_fmt", "yuv420p",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", filepath.Join(sources, "clip.h264")).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	backend := s3mem.New()
	backend.CreateBucket("recordings")
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3.Close()

	port := freePort(t)
	env := map[string]string{"JF_PORT": port, "JF_METRICS_PORT": freePort(t), "JF_WEBRTC_TURN_UDP_PORT": freeUDPPort(t),
		"JF_RESOURCES_BASE_PATH": base, "JF_SERVER_API_TOKEN": "tok",
		"JF_S3_BUCKET": "recordings", "JF_S3_REGION": "eu-central-1", "JF_S3_ACCESS_KEY_ID": "k", "JF_S3_SECRET_ACCESS_KEY": "s",
		"JF_S3_PATH_PREFIX": "meetings", "JF_S3_ENDPOINT": strings.TrimPrefix(s3.URL, "http://"), "JF_S3_INSECURE": "true"}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out) }()
	api := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if status, _ := get(t, api+"/health", "tok"); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not up:\n%s", out.String())
		}
	}
	var created struct{ Room struct{ ID string } }
	if status := post(t, api+"/room", "tok", `{"videoCodec":"h264"}`, &created); status != 201 {
		t.Fatalf("POST /room: %d", status)
	}
	room := created.Room.ID
	if status := post(t, api+"/room/"+room+"/component", "tok", `{"type":"recording"}`, nil); status != 201 {
		t.Fatalf("add recording: %d\n%s", status, out.String())
	}
	if status := post(t, api+"/room/"+room+"/component", "tok", `{"type":"file","options":{"filePath":"clip.h264"}}`, nil); status != 201 {
		t.Fatalf("add file: %d", status)
	}
	time.Sleep(3 * time.Second) // record about three seconds, then SIGTERM mid-file
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	http.DefaultClient.CloseIdleConnections()

	files, _ := filepath.Glob(filepath.Join(base, "raw_recordings", room, "part_*", "*.mp4"))
	if len(files) != 1 {
		t.Fatalf("recorded files: %v, want one MP4\n%s", files, out.String())
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "json", files[0]).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", files[0], err)
	}
	var info struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		}
		Format struct{ Duration string }
	}
	json.Unmarshal(probe, &info)
	d, _ := strconv.ParseFloat(info.Format.Duration, 64)
	if len(info.Streams) != 1 || info.Streams[0].CodecName != "h264" || d < 1.5 || d > 10 {
		t.Fatalf("recording %s: %s; want h264 of about 3 s", files[0], probe)
	}
	local, _ := os.ReadFile(files[0])
	key := "meetings/" + room + "/" + filepath.Base(filepath.Dir(files[0])) + "/" + filepath.Base(files[0])
	obj, err := backend.GetObject("recordings", key, nil)
	if err != nil {
		list, _ := backend.ListBucket("recordings", nil, gofakes3.ListBucketPage{})
		t.Fatalf("S3 object %s: %v (bucket: %+v)", key, err, list)
	}
	defer obj.Contents.Close()
	var uploaded bytes.Buffer
	uploaded.ReadFrom(obj.Contents)
	if !bytes.Equal(uploaded.Bytes(), local) {
		t.Fatalf("uploaded %d bytes, local file %d", uploaded.Len(), len(local))
	}
}
