package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/server"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

func (h *harness) dial(path string) *websocket.Conn {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.ts.URL, "http")+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, m proto.Message) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, c *websocket.Conn) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	return b, err
}

// expectClose reads until the socket closes and checks the close code and reason.
func expectClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	for {
		_, err := read(t, c)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
			t.Fatalf("close: got %v, want %d %q", err, code, reason)
		}
		return
	}
}

func peerAuth(token string) *wire.PeerMessage {
	return &wire.PeerMessage{Content: &wire.PeerMessage_AuthRequest_{AuthRequest: &wire.PeerMessage_AuthRequest{Token: token}}}
}

func (h *harness) addPeer(room string) (peerID, token string) {
	h.t.Helper()
	r, err := h.engine.Room(room)
	if err != nil {
		h.t.Fatal(err)
	}
	p, token, err := r.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p.ID(), token
}

// connectPeer authenticates a peer socket and waits for the Authenticated answer.
func (h *harness) connectPeer(token string) *websocket.Conn {
	h.t.Helper()
	c := h.dial("/socket/peer/websocket")
	send(h.t, c, peerAuth(token))
	b, err := read(h.t, c)
	if err != nil {
		h.t.Fatal(err)
	}
	var m wire.PeerMessage
	if proto.Unmarshal(b, &m) != nil || m.GetAuthenticated() == nil {
		h.t.Fatalf("got %x, want Authenticated", b)
	}
	return c
}

func peerStatus(t *testing.T, h *harness, room, peer string) jellyfish.PeerStatus {
	t.Helper()
	r, _ := h.engine.Room(room)
	p, err := r.Peer(peer)
	if err != nil {
		t.Fatal(err)
	}
	return p.Info().Status
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPeerSocketAuth(t *testing.T) {
	h := newHarness(t)
	h.engine.CreateRoom(jellyfish.RoomConfig{RoomID: "r"})
	peerID, token := h.addPeer("r")

	cases := []struct {
		name   string
		first  func(c *websocket.Conn)
		code   websocket.StatusCode
		reason string
	}{
		{"garbage token", func(c *websocket.Conn) { send(t, c, peerAuth("garbage")) }, 1000, "invalid token"},
		{"empty token", func(c *websocket.Conn) { send(t, c, peerAuth("")) }, 1000, "invalid token"},
		{"tampered token", func(c *websocket.Conn) { send(t, c, peerAuth(token[:len(token)-2]+"AA")) }, 1000, "invalid token"},
		{"media event first", func(c *websocket.Conn) {
			send(t, c, &wire.PeerMessage{Content: &wire.PeerMessage_MediaEvent_{MediaEvent: &wire.PeerMessage_MediaEvent{Data: "{}"}}})
		}, 1000, "unauthenticated"},
		{"undecodable first", func(c *websocket.Conn) { c.Write(context.Background(), websocket.MessageBinary, []byte{0xff, 0xff}) }, 1000, "unauthenticated"},
		{"text first", func(c *websocket.Conn) { c.Write(context.Background(), websocket.MessageText, []byte("hi")) }, 1000, "unauthenticated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := h.dial("/socket/peer/websocket")
			tc.first(c)
			expectClose(t, c, tc.code, tc.reason)
		})
	}

	t.Run("connect, duplicate, reconnect", func(t *testing.T) {
		c := h.connectPeer(token)
		if got := peerStatus(t, h, "r", peerID); got != jellyfish.PeerStatusConnected {
			t.Fatalf("status %s, want connected", got)
		}
		dup := h.dial("/socket/peer/websocket")
		send(t, dup, peerAuth(token))
		expectClose(t, dup, 1000, "peer already connected")

		// Ignored after authentication: text frames, a second auth, garbage.
		c.Write(context.Background(), websocket.MessageText, []byte("hi"))
		send(t, c, peerAuth(token))
		c.Write(context.Background(), websocket.MessageBinary, []byte{0xff})
		if got := peerStatus(t, h, "r", peerID); got != jellyfish.PeerStatusConnected {
			t.Fatalf("status %s after ignored input, want connected", got)
		}

		c.Close(websocket.StatusNormalClosure, "bye")
		waitFor(t, "disconnect", func() bool { return peerStatus(t, h, "r", peerID) == jellyfish.PeerStatusDisconnected })
		c2 := h.connectPeer(token) // the same token works again
		c2.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("peer not found", func(t *testing.T) {
		p2, tok2 := h.addPeer("r")
		h.expect("DELETE", "/room/r/peer/"+p2, "", 204, "")
		c := h.dial("/socket/peer/websocket")
		send(t, c, peerAuth(tok2))
		expectClose(t, c, 1000, "peer not found")
	})

	t.Run("room not found", func(t *testing.T) {
		h.engine.CreateRoom(jellyfish.RoomConfig{RoomID: "gone"})
		_, tok := h.addPeer("gone")
		h.engine.DeleteRoom("gone")
		c := h.dial("/socket/peer/websocket")
		send(t, c, peerAuth(tok))
		expectClose(t, c, 1000, "room not found")
	})
}

func TestPeerSocketClosedByServer(t *testing.T) {
	h := newHarness(t)
	h.engine.CreateRoom(jellyfish.RoomConfig{RoomID: "r"})
	p1, t1 := h.addPeer("r")
	_, t2 := h.addPeer("r")
	c1, c2 := h.connectPeer(t1), h.connectPeer(t2)

	h.expect("DELETE", "/room/r/peer/"+p1, "", 204, "")
	expectClose(t, c1, 1000, "Peer removed")
	h.expect("DELETE", "/room/r", "", 204, "")
	expectClose(t, c2, 1000, "Room stopped")
}

func TestPeerSocketOrigin(t *testing.T) {
	h := newHarness(t, func(_ *jellyfish.Config, c *server.Config) {
		c.CheckOrigin = func(origin, _ string) bool { return origin == "http://good.example" }
	})
	url := "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/socket/peer/websocket"
	_, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("evil origin: got %v %v, want 403", resp, err)
	}
	c, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://good.example"}}})
	if err != nil {
		t.Fatalf("good origin: %v", err)
	}
	c.CloseNow()
}

func serverAuth(token string) *wire.ServerMessage {
	return &wire.ServerMessage{Content: &wire.ServerMessage_AuthRequest_{AuthRequest: &wire.ServerMessage_AuthRequest{Token: token}}}
}

func subscribeReq(et wire.ServerMessage_EventType) *wire.ServerMessage {
	return &wire.ServerMessage{Content: &wire.ServerMessage_SubscribeRequest_{SubscribeRequest: &wire.ServerMessage_SubscribeRequest{EventType: et}}}
}

func readServer(t *testing.T, c *websocket.Conn) *wire.ServerMessage {
	t.Helper()
	b, err := read(t, c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m wire.ServerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestServerSocketBytes(t *testing.T) {
	h := newHarness(t)
	c := h.dial("/socket/server/websocket")
	// The exact bytes of server-api.md §8.2.
	c.Write(context.Background(), websocket.MessageBinary, []byte("\x3a\x0d\x0a\x0bdevelopment"))
	if b, _ := read(t, c); string(b) != "\x32\x00" {
		t.Fatalf("authenticated: got %x, want 3200", b)
	}
	c.Write(context.Background(), websocket.MessageBinary, []byte{0x42, 0x02, 0x08, 0x01})
	if b, _ := read(t, c); string(b) != "\x4a\x02\x08\x01" {
		t.Fatalf("subscribe response: got %x, want 4a020801", b)
	}
	h.engine.CreateRoom(jellyfish.RoomConfig{RoomID: "r1"})
	if b, _ := read(t, c); string(b) != "\x52\x04\x0a\x02r1" {
		t.Fatalf("RoomCreated: got %x, want 52040a027231", b)
	}
}

func TestServerSocketAuthFailures(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name   string
		first  func(c *websocket.Conn)
		code   websocket.StatusCode
		reason string
	}{
		{"wrong token", func(c *websocket.Conn) { send(t, c, serverAuth("nope")) }, 1000, "invalid token"},
		{"not an auth request", func(c *websocket.Conn) { send(t, c, subscribeReq(1)) }, 1000, "invalid auth request"},
		{"undecodable", func(c *websocket.Conn) { c.Write(context.Background(), websocket.MessageBinary, []byte{0xff}) }, 1000, "invalid auth request"},
		{"text", func(c *websocket.Conn) { c.Write(context.Background(), websocket.MessageText, []byte("x")) }, 1003, "operation not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := h.dial("/socket/server/websocket")
			tc.first(c)
			expectClose(t, c, tc.code, tc.reason)
		})
	}
	after := []struct {
		name   string
		msg    func(c *websocket.Conn)
		code   websocket.StatusCode
		reason string
	}{
		{"second auth", func(c *websocket.Conn) { send(t, c, serverAuth(testToken)) }, 1003, "operation not allowed"},
		{"text after auth", func(c *websocket.Conn) { c.Write(context.Background(), websocket.MessageText, []byte("x")) }, 1003, "operation not allowed"},
		{"unspecified event type", func(c *websocket.Conn) { send(t, c, subscribeReq(0)) }, 1003, "invalid event type"},
	}
	for _, tc := range after {
		t.Run(tc.name, func(t *testing.T) {
			c := h.dial("/socket/server/websocket")
			send(t, c, serverAuth(testToken))
			if readServer(t, c).GetAuthenticated() == nil {
				t.Fatal("not authenticated")
			}
			tc.msg(c)
			expectClose(t, c, tc.code, tc.reason)
		})
	}
}

// TestNotificationOrder follows create room → add peer → connect → disconnect → delete through
// the server socket and a webhook, which must both see the same sequence.
func TestNotificationOrder(t *testing.T) {
	var (
		mu   sync.Mutex
		hook []*wire.ServerMessage
	)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m wire.ServerMessage
		if r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &m) != nil {
			t.Errorf("webhook: bad request %s %x", r.Header.Get("Content-Type"), b)
		}
		mu.Lock()
		hook = append(hook, &m)
		mu.Unlock()
	}))
	defer webhook.Close()

	h := newHarness(t)
	c := h.dial("/socket/server/websocket")
	send(t, c, serverAuth(testToken))
	readServer(t, c)
	// Nothing is pushed before a subscription.
	h.expect("POST", "/room", `{"roomId":"early"}`, 201, "*")
	send(t, c, subscribeReq(wire.ServerMessage_EVENT_TYPE_SERVER_NOTIFICATION))
	if readServer(t, c).GetSubscribeResponse().GetEventType() != wire.ServerMessage_EVENT_TYPE_SERVER_NOTIFICATION {
		t.Fatal("no subscribe response")
	}

	h.expect("POST", "/room", `{"roomId":"r","webhookUrl":"`+webhook.URL+`/hook"}`, 201, "*")
	r := h.expect("POST", "/room/r/peer", `{"type":"webrtc"}`, 201, "*")
	var out struct{ Data struct{ Token string } }
	json.Unmarshal([]byte(r.body), &out)
	p := h.connectPeer(out.Data.Token)
	p.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "disconnect", func() bool {
		return len(h.engine.Rooms()) > 1 && h.engine.Rooms()[1].Info().Peers[0].Status == "disconnected"
	})
	h.expect("DELETE", "/room/r", "", 204, "")

	want := []string{"room_created", "peer_added", "peer_connected", "peer_disconnected", "peer_deleted", "room_deleted"}
	name := func(m *wire.ServerMessage) string {
		return string(m.ProtoReflect().WhichOneof(m.ProtoReflect().Descriptor().Oneofs().ByName("content")).Name())
	}
	for i, w := range want {
		m := readServer(t, c)
		if got := name(m); got != w {
			t.Fatalf("socket event %d: got %s, want %s", i, got, w)
		}
	}
	waitFor(t, "webhooks", func() bool { mu.Lock(); defer mu.Unlock(); return len(hook) == len(want) })
	mu.Lock()
	defer mu.Unlock()
	for i, w := range want {
		if got := name(hook[i]); got != w {
			t.Errorf("webhook %d: got %s, want %s", i, got, w)
		}
		if hook[i].ProtoReflect().Get(hook[i].ProtoReflect().Descriptor().Fields().ByName(protoName(w))).Message().Get(
			hook[i].ProtoReflect().Descriptor().Fields().ByName(protoName(w)).Message().Fields().ByName("room_id")).String() != "r" {
			t.Errorf("webhook %d: not for room r", i)
		}
	}
}

func protoName(s string) protoreflect.Name { return protoreflect.Name(s) }

func TestMetricsReport(t *testing.T) {
	h := newHarness(t)
	c := h.dial("/socket/server/websocket")
	send(t, c, serverAuth(testToken))
	readServer(t, c)
	send(t, c, subscribeReq(wire.ServerMessage_EVENT_TYPE_METRICS))
	if readServer(t, c).GetSubscribeResponse().GetEventType() != wire.ServerMessage_EVENT_TYPE_METRICS {
		t.Fatal("no subscribe response")
	}
	if m := readServer(t, c).GetMetricsReport(); m == nil || m.GetMetrics() != "{}" {
		t.Fatalf("first report: got %v, want {}", m)
	}
	h.engine.CreateRoom(jellyfish.RoomConfig{RoomID: "r"})
	peerID, token := h.addPeer("r")
	h.connectPeer(token)
	for {
		m := readServer(t, c).GetMetricsReport()
		var report map[string]map[string]any
		json.Unmarshal([]byte(m.GetMetrics()), &report)
		if _, ok := report["room_id=r"]["endpoint_id="+peerID]; ok {
			return
		}
	}
}
