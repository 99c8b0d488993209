package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunServesAndShutsDown starts the real command with a generated token, checks the API and
// the metrics listener, and stops it as SIGTERM would.
func TestRunServesAndShutsDown(t *testing.T) {
	port, metricsPort := freePort(t), freePort(t)
	env := map[string]string{"JF_PORT": port, "JF_METRICS_PORT": metricsPort, "JF_WEBRTC_TURN_UDP_PORT": freeUDPPort(t), "JF_RESOURCES_BASE_PATH": t.TempDir(), "JF_STRUCTURED_LOGGING": "true"}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out)
	}()
	base := "http://127.0.0.1:" + port
	var status int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if status, _ = get(t, base+"/health", ""); status != 0 {
			break
		}
	}
	if status != 401 {
		t.Fatalf("GET /health without token: got %d, want 401", status)
	}
	// The generated token is printed in the logs.
	logs := out.String()
	i := strings.Index(logs, `"token":"`)
	if i < 0 {
		t.Fatalf("no generated token in the logs:\n%s", logs)
	}
	token := logs[i+len(`"token":"`):]
	token = token[:strings.IndexByte(token, '"')]
	if status, body := get(t, base+"/health", token); status != 200 || !strings.Contains(body, `"status":"UP"`) {
		t.Fatalf("GET /health: got %d %s", status, body)
	}
	if status, body := get(t, "http://127.0.0.1:"+metricsPort+"/metrics", ""); status != 200 ||
		!strings.Contains(body, "jellyfish_rooms") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("GET /metrics: got %d, want jellyfish and Go runtime metrics:\n%.500s", status, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestRunRejectsBadConfig(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), nil, func(k string) (string, bool) {
		if k == "JF_PORT" {
			return "99999", true
		}
		return "", false
	}, &out)
	if err == nil || !strings.Contains(err.Error(), "JF_PORT") || !strings.Contains(err.Error(), "99999") {
		t.Fatalf("got %v, want an error naming JF_PORT and 99999", err)
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(string) (string, bool) { return "", false }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	for _, v := range envVars() {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("-h does not list %s", v.Name)
		}
	}
}

// TestREADMEListsEveryVariable keeps the README's configuration table in step with the code.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envVars() {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}
