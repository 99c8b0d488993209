package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var urlLine = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)

// startApp runs the program with args on a free port and returns its base URL; the cleanup stops
// it through its context and checks that it returned nil.
func startApp(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, args...), pw, io.Discard)
		pw.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	found := make(chan string, 1)
	go func() { // drains the output until run returns
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	})
	select {
	case u := <-found:
		return u
	case err := <-done:
		done <- err
		t.Fatalf("run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the app never printed its URL")
	}
	return ""
}

func post(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func join(t *testing.T, base, room, name string) joinAnswer {
	t.Helper()
	status, body := post(t, base+"/api/join?room="+url.QueryEscape(room)+"&name="+url.QueryEscape(name))
	if status != http.StatusOK {
		t.Fatalf("POST /api/join = %d %s, want 200", status, body)
	}
	var a joinAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("join answer %s: %v", body, err)
	}
	return a
}

func TestEmbeddedJoin(t *testing.T) {
	base := startApp(t, "-token", "secret")
	host := strings.TrimPrefix(base, "http://")

	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `src="/app.js"`) {
		t.Fatalf("GET / = %d, want 200 with the page", resp.StatusCode)
	}

	a := join(t, base, "standup", "alice")
	b := join(t, base, "standup", "bob")
	want := signalingURL{Protocol: "ws", Host: host, Path: server.PeerSocketPath}
	if a.Signaling != want || a.PeerWebsocketURL != host+server.PeerSocketPath {
		t.Errorf("signaling = %+v, %q; want %+v, %q", a.Signaling, a.PeerWebsocketURL, want, host+server.PeerSocketPath)
	}
	if a.RoomID != "standup" || b.RoomID != "standup" || a.PeerID == b.PeerID || a.Token == "" || a.Token == b.Token {
		t.Errorf("joins = %+v, %+v; want two peers of room standup with their own tokens", a, b)
	}

	// The Jellyfish API is served on the same address.
	req, _ := http.NewRequest(http.MethodGet, base+"/room/standup", nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), a.PeerID) || !strings.Contains(string(body), `"videoCodec":"vp8"`) {
		t.Errorf("GET /room/standup = %d %s, want the room with alice and codec vp8", resp.StatusCode, body)
	}

	for _, tc := range []struct{ query, want string }{
		{"room=has%20space&name=x", "alphanumeric"},
		{"room=r&name=", "name is required"},
		{"name=x", "room is required"},
	} {
		if status, body := post(t, base+"/api/join?"+tc.query); status != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("POST /api/join?%s = %d %s, want 400 containing %q", tc.query, status, body, tc.want)
		}
	}
	// Without -test-hooks there is no drop endpoint.
	if status, _ := post(t, base+"/api/test/drop-socket?room=hooks&peer="+a.PeerID); status == http.StatusNoContent {
		t.Errorf("POST /api/test/drop-socket without -test-hooks = %d, want an error", status)
	}
}

// authFrame is the PeerMessage{auth_request{token}} the client sends first.
func authFrame(token string) []byte {
	inner := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), token)
	return protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), inner)
}

// authenticate opens a peer socket and returns it once the server answered authenticated.
func authenticate(ctx context.Context, t *testing.T, a joinAnswer) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws://"+a.Signaling.Host+a.Signaling.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, authFrame(a.Token)); err != nil {
		t.Fatal(err)
	}
	typ, data, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || string(data) != "\x0a\x00" {
		t.Fatalf("first frame = %v %x %v, want binary 0a00 (authenticated)", typ, data, err)
	}
	return c
}

// peerStatus reads a peer's status through the REST API.
func peerStatus(t *testing.T, base, token, room, peer string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/room/"+room, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Peers []struct{ ID, Status string }
		}
	}
	json.NewDecoder(resp.Body).Decode(&r)
	for _, p := range r.Data.Peers {
		if p.ID == peer {
			return p.Status
		}
	}
	return "absent"
}

func TestDropSocketHook(t *testing.T) {
	base := startApp(t, "-token", "secret", "-test-hooks")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := join(t, base, "hooks", "alice")

	c := authenticate(ctx, t, a)
	defer c.CloseNow()
	if status, body := post(t, base+"/api/test/drop-socket?room=hooks&peer="+a.PeerID); status != http.StatusNoContent {
		t.Fatalf("drop-socket = %d %s, want 204", status, body)
	}
	_, _, err := c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusInternalError || ce.Reason != "Internal server error" {
		t.Fatalf("after drop-socket: read error %v, want close 1011 Internal server error", err)
	}
	// The peer stays in the room, disconnected, so that the client can come back with its token.
	for status := ""; status != "disconnected"; status = peerStatus(t, base, "secret", "hooks", a.PeerID) {
		if status == "absent" || ctx.Err() != nil {
			t.Fatalf("peer status = %q, want disconnected", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2 := authenticate(ctx, t, a)
	c2.Close(websocket.StatusNormalClosure, "")

	if status, _ := post(t, base+"/api/test/drop-socket?room=hooks&peer=unknown"); status != http.StatusNotFound {
		t.Errorf("drop-socket of an unknown peer = %d, want 404", status)
	}
}

func TestRemoteJellyfish(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	engine, err := jellyfish.New(jellyfish.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	srv, err := server.New(engine, server.Config{ServerAPIToken: "remote-secret", Address: "media.example:8080", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	base := startApp(t, "-jellyfish-url", hs.URL, "-token", "remote-secret", "-video-codec", "any")
	a := join(t, base, "remote", "alice")
	b := join(t, base, "remote", "bob")
	want := signalingURL{Protocol: "ws", Host: "media.example:8080", Path: server.PeerSocketPath}
	if a.Signaling != want || a.PeerWebsocketURL != "media.example:8080"+server.PeerSocketPath {
		t.Errorf("signaling = %+v, %q; want %+v from the server's peer_websocket_url", a.Signaling, a.PeerWebsocketURL, want)
	}
	room, err := engine.Room("remote")
	if err != nil {
		t.Fatal(err)
	}
	if info := room.Info(); len(info.Peers) != 2 || info.Peers[0].ID != a.PeerID || info.Peers[1].ID != b.PeerID {
		t.Errorf("room peers = %+v, want alice's and bob's", info.Peers)
	}
	if _, _, err := engine.VerifyPeerToken(a.Token); err != nil {
		t.Errorf("alice's token: %v", err)
	}
}
