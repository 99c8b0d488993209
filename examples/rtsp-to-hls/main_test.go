package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var urlLine = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/player \(camera \S+, room (\S+),`)

// TestRun runs the example: the camera's stream becomes an HLS playlist served over HTTP, the
// page and its config are served, and the program stops cleanly (goleak, no ffmpeg left).
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cameraAddr := ln.Addr().String()
	ln.Close()
	hlsjs := filepath.Join(t.TempDir(), "hls.js")
	os.WriteFile(hlsjs, []byte("// hls.js stand-in: the browser test (e2e/) plays the stream"), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-camera-addr", cameraAddr, "-hlsjs", hlsjs, "-log-level", "warn"}, pw, io.Discard)
		pw.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	}()
	var base, room string
	select {
	case m := <-found:
		base, room = m[1], m[2]
	case err := <-done:
		done <- err
		t.Fatalf("run returned %v before printing its URL", err)
	case <-time.After(60 * time.Second):
		t.Fatal("no URL printed within 60 s")
	}

	// The master playlist appears once the camera's first segment is done (about 6 s).
	deadline := time.Now().Add(60 * time.Second)
	for {
		body, status := get(t, base+"/hls/"+room+"/index.m3u8")
		if status == http.StatusOK {
			if !strings.Contains(body, "#EXTM3U") || !strings.Contains(body, "avc1.") {
				t.Fatalf("master playlist without H.264:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET index.m3u8: %d %s", status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if body, status := get(t, base+"/player"); status != http.StatusOK || !strings.Contains(body, "hls.js") {
		t.Errorf("GET /player: %d", status)
	}
	if body, status := get(t, base+"/player/config"); status != http.StatusOK || !strings.Contains(body, room) {
		t.Errorf("GET /player/config: %d %s", status, body)
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}
