package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/server"
)

func TestAuth(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, auth string
		want       string
	}{
		{"missing", "", `{"errors":"Missing token"}`},
		{"no bearer prefix", testToken, `{"errors":"Missing token"}`},
		{"lowercase prefix", "bearer " + testToken, `{"errors":"Missing token"}`},
		{"wrong token", "Bearer nope", `{"errors":"Invalid token"}`},
		{"token prefix only", "Bearer " + testToken[:3], `{"errors":"Invalid token"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.expect("GET", "/room", "", 401, tc.want, "Authorization", tc.auth)
		})
	}
	t.Run("two headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", h.ts.URL+"/room", nil)
		req.Header.Add("Authorization", "Bearer "+testToken)
		req.Header.Add("Authorization", "Bearer "+testToken)
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("got %d, want 401", resp.StatusCode)
		}
	})
	t.Run("unknown route before auth", func(t *testing.T) {
		h.expect("GET", "/nope", "", 404, `{"errors":{"detail":"Not Found"}}`, "Authorization", "")
		h.expect("PUT", "/room", "", 404, `{"errors":{"detail":"Not Found"}}`, "Authorization", "")
	})
}

func TestAcceptHeader(t *testing.T) {
	h := newHarness(t)
	for _, accept := range []string{"application/json", "*/*", "text/html, application/json;q=0.9", "application/*"} {
		h.expect("GET", "/room", "", 200, `{"data":[]}`, "Accept", accept)
	}
	for _, accept := range []string{"text/html", "application/xml", "application/json;q=0"} {
		h.expect("GET", "/room", "", 406, `{"errors":{"detail":"Not Acceptable"}}`, "Accept", accept)
	}
}

func TestHealth(t *testing.T) {
	h := newHarness(t, func(_ *jellyfish.Config, c *server.Config) { c.GitCommit = "abc1234" })
	r := h.expect("GET", "/health", "", 200, "*")
	want := regexp.MustCompile(`^\{"data":\{"distribution":\{"enabled":false,"nodeStatus":"DOWN","nodesInCluster":0\},"gitCommit":"abc1234","status":"UP","uptime":\d+,"version":"0.5.0"\}\}$`)
	if !want.MatchString(r.body) {
		t.Errorf("got %s, want match of %s", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
}

func TestCreateRoomValidation(t *testing.T) {
	h := newHarness(t)
	cases := []struct{ name, body, want string }{
		{"roomId with slash", `{"roomId":"test/path"}`, `Cannot add room with id \"test/path\" - roomId may contain only alphanumeric characters and hyphens`},
		{"empty roomId", `{"roomId":""}`, `Cannot add room with id \"\" - roomId may contain only alphanumeric characters and hyphens`},
		{"numeric roomId", `{"roomId":12}`, `Cannot add room with id \"12\" - roomId may contain only alphanumeric characters and hyphens`},
		{"roomId with newline", `{"roomId":"room1\n"}`, `Cannot add room with id \"room1\n\" - roomId may contain only alphanumeric characters and hyphens`},
		{"maxPeers string", `{"maxPeers":"nan"}`, `Expected maxPeers to be a number, got: nan`},
		{"maxPeers float", `{"maxPeers":10.0}`, `Expected maxPeers to be a number, got: 10.0`},
		{"maxPeers negative", `{"maxPeers":-1}`, `Expected maxPeers to be a number, got: -1`},
		{"maxPeers object", `{"maxPeers":{"a":1}}`, `Expected maxPeers to be a number, got: {\"a\":1}`},
		{"codec", `{"videoCodec":"VP8"}`, `Expected videoCodec to be 'h264' or 'vp8', got: VP8`},
		{"codec number", `{"videoCodec":8}`, `Expected videoCodec to be 'h264' or 'vp8', got: 8`},
		{"webhook without path", `{"webhookUrl":"http://host"}`, `Expected webhookUrl to be valid URL, got: http://host`},
		{"webhook not url", `{"webhookUrl":"nope"}`, `Expected webhookUrl to be valid URL, got: nope`},
		{"webhook object", `{"webhookUrl":{}}`, `Expected webhookUrl to be valid URL, got: {}`},
		{"peerless zero", `{"peerlessPurgeTimeout":0}`, `Expected peerlessPurgeTimeout to be a positive integer, got: 0`},
		{"peerless string", `{"peerlessPurgeTimeout":"10"}`, `Expected peerlessPurgeTimeout to be a positive integer, got: 10`},
		{"disconnected negative", `{"peerDisconnectedTimeout":-5}`, `Expected peerDisconnectedTimeout to be a positive integer, got: -5`},
		{"disconnected float", `{"peerDisconnectedTimeout":1.5}`, `Expected peerDisconnectedTimeout to be a positive integer, got: 1.5`},
		{"first failure wins", `{"maxPeers":"x","videoCodec":"y"}`, `Expected maxPeers to be a number, got: x`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.expect("POST", "/room", tc.body, 400, `{"errors":"`+tc.want+`"}`)
		})
	}
	t.Run("query string values are strings", func(t *testing.T) {
		h.expect("POST", "/room?maxPeers=10", "", 400, `{"errors":"Expected maxPeers to be a number, got: 10"}`)
	})
	t.Run("duplicate id", func(t *testing.T) {
		h.expect("POST", "/room", `{"roomId":"dup"}`, 201, "*")
		h.expect("POST", "/room", `{"roomId":"dup"}`, 400, `{"errors":"Cannot add room with id \"dup\" - room already exists"}`)
	})
	if n := len(h.engine.Rooms()); n != 1 {
		t.Errorf("rooms after failed creations: got %d, want 1", n)
	}
}

func TestCreateRoom(t *testing.T) {
	h := newHarness(t)
	addr := h.ts.Listener.Addr().String()
	r := h.expect("POST", "/room", `{"roomId":"my-room-1","maxPeers":10,"videoCodec":"h264","webhookUrl":"http://127.0.0.1:1/hook","peerlessPurgeTimeout":60,"peerDisconnectedTimeout":30,"unknown":true}`, 201,
		`{"data":{"jellyfish_address":"`+addr+`","room":{"components":[],"config":{"maxPeers":10,"peerDisconnectedTimeout":30,"peerlessPurgeTimeout":60,"roomId":"my-room-1","videoCodec":"h264","webhookUrl":"http://127.0.0.1:1/hook"},"id":"my-room-1","peers":[]}}}`)
	_ = r
	// No body, no content type, or a non-JSON content type: defaults.
	for _, tc := range []struct{ body, ct string }{{"", ""}, {`{"maxPeers":1}`, "text/plain"}, {`[1,2]`, "application/json"}, {"  ", "application/json"}} {
		r := h.do("POST", "/room", tc.body, "Content-Type", tc.ct)
		var out struct {
			Data struct {
				Room struct {
					ID     string
					Config map[string]any
				}
			}
		}
		if r.status != 201 || json.Unmarshal([]byte(r.body), &out) != nil {
			t.Fatalf("POST /room %q (%s): got %d %s, want 201", tc.body, tc.ct, r.status, r.body)
		}
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(out.Data.Room.ID) {
			t.Errorf("generated id %q is not a UUID v4", out.Data.Room.ID)
		}
		if out.Data.Room.Config["roomId"] != out.Data.Room.ID || out.Data.Room.Config["maxPeers"] != nil {
			t.Errorf("config %v: want roomId = id and maxPeers null", out.Data.Room.Config)
		}
	}
	h.expect("POST", "/room", `{"maxPeers":`, 400, `{"errors":{"detail":"Bad Request"}}`)
	h.expect("POST", "/room", `{"a":1} x`, 400, `{"errors":{"detail":"Bad Request"}}`)
	huge := `{"roomId":"` + strings.Repeat("a", 2<<20) + `"}`
	h.expect("POST", "/room", huge, 413, `{"errors":{"detail":"Request Entity Too Large"}}`)
}

func TestRoomLifecycle(t *testing.T) {
	h := newHarness(t)
	h.expect("GET", "/room/nope", "", 404, `{"errors":"Room nope does not exist"}`)
	h.expect("DELETE", "/room/nope", "", 404, `{"errors":"Room nope does not exist"}`)
	h.expect("POST", "/room/", `{"roomId":"r1"}`, 201, "*") // trailing slash
	h.expect("GET", "/room/r1/", "", 200, `{"data":{"components":[],"config":{"maxPeers":null,"peerDisconnectedTimeout":null,"peerlessPurgeTimeout":null,"roomId":"r1","videoCodec":null,"webhookUrl":null},"id":"r1","peers":[]}}`)
	h.expect("GET", "/room", "", 200, `{"data":[{"components":[],"config":{"maxPeers":null,"peerDisconnectedTimeout":null,"peerlessPurgeTimeout":null,"roomId":"r1","videoCodec":null,"webhookUrl":null},"id":"r1","peers":[]}]}`)
	r := h.expect("HEAD", "/room/r1", "", 200, "")
	if r.header.Get("Content-Type") == "" {
		t.Error("HEAD answered without the GET content type")
	}
	h.expect("DELETE", "/room/r1", "", 204, "")
	h.expect("GET", "/room/r1", "", 404, `{"errors":"Room r1 does not exist"}`)
	h.expect("GET", "/room", "", 200, `{"data":[]}`)
}

func TestPeers(t *testing.T) {
	h := newHarness(t)
	addr := h.ts.Listener.Addr().String()
	h.expect("POST", "/room", `{"roomId":"r","maxPeers":1}`, 201, "*")

	// Checks in Jellyfish's order: type, peer type, room, limit, options.
	h.expect("POST", "/room/nope/peer", `{}`, 400, `{"errors":"Invalid request body structure"}`)
	h.expect("POST", "/room/nope/peer", `{"type":"sip"}`, 400, `{"errors":"Invalid peer type"}`)
	h.expect("POST", "/room/nope/peer", `{"type":"webrtc"}`, 404, `{"errors":"Room nope does not exist"}`)
	h.expect("POST", "/room/r/peer", `{"type":"webrtc","options":{"enableSimulcast":"yes"}}`, 400, `{"errors":"Invalid request body structure"}`)
	h.expect("POST", "/room/r/peer", `{"type":"webrtc","options":[1]}`, 400, `{"errors":"Invalid request body structure"}`)
	h.expect("POST", "/room/r/peer", `{"type":"webrtc"}`, 400, `{"errors":"Invalid request body structure"}`, "Content-Type", "text/plain")

	r := h.expect("POST", "/room/r/peer", `{"type":"webrtc","options":{"enableSimulcast":false,"other":1}}`, 201, "*")
	var out struct {
		Data struct {
			Peer             map[string]any `json:"peer"`
			PeerWebsocketURL string         `json:"peer_websocket_url"`
			Token            string         `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatal(err)
	}
	peerID, _ := out.Data.Peer["id"].(string)
	wantPeer := fmt.Sprintf(`{"id":"%s","metadata":null,"status":"disconnected","tracks":[],"type":"webrtc"}`, peerID)
	if got, _ := json.Marshal(out.Data.Peer); string(got) != wantPeer {
		t.Errorf("peer: got %s, want %s", got, wantPeer)
	}
	if out.Data.PeerWebsocketURL != addr+"/socket/peer/websocket" {
		t.Errorf("peer_websocket_url: got %q, want %q", out.Data.PeerWebsocketURL, addr+"/socket/peer/websocket")
	}
	if room, peer, err := h.engine.VerifyPeerToken(out.Data.Token); err != nil || room != "r" || peer != peerID {
		t.Errorf("token verifies as (%q, %q, %v), want (r, %s, nil)", room, peer, err, peerID)
	}
	// The limit is checked before the options.
	h.expect("POST", "/room/r/peer", `{"type":"webrtc"}`, 503, `{"errors":"Reached peer limit in room r"}`)
	h.expect("POST", "/room/r/peer", `{"type":"webrtc","options":{"enableSimulcast":1}}`, 503, `{"errors":"Reached peer limit in room r"}`)

	h.expect("DELETE", "/room/nope/peer/x", "", 404, `{"errors":"Room nope does not exist"}`)
	h.expect("DELETE", "/room/r/peer/x", "", 404, `{"errors":"Peer x does not exist"}`)
	h.expect("DELETE", "/room/r/peer/"+peerID, "", 204, "")
	h.expect("DELETE", "/room/r/peer/"+peerID, "", 404, `{"errors":"Peer `+peerID+` does not exist"}`)
	h.expect("POST", "/room/r/peer", `{"type":"webrtc"}`, 201, "*")

	h.expect("POST", "/room", `{"roomId":"zero","maxPeers":0}`, 201, "*")
	h.expect("POST", "/room/zero/peer", `{"type":"webrtc"}`, 503, `{"errors":"Reached peer limit in room zero"}`)
}

func TestWebRTCDisabled(t *testing.T) {
	h := newHarness(t, func(c *jellyfish.Config, _ *server.Config) { c.WebRTCDisabled = true })
	h.expect("POST", "/room", `{"roomId":"r"}`, 201, "*")
	h.expect("POST", "/room/r/peer", `{"type":"webrtc"}`, 400, `{"errors":"WebRTC peers are disabled on this server (JF_WEBRTC_USED=false)"}`)
	h.expect("GET", "/room/r", "", 200, "*") // the room survives
}

func TestComponents(t *testing.T) {
	h := newHarness(t)
	h.expect("POST", "/room", `{"roomId":"r","videoCodec":"h264"}`, 201, "*")
	h.expect("POST", "/room/nope/component", `{}`, 400, `{"errors":"Invalid request body structure"}`)
	h.expect("POST", "/room/nope/component", `{"type":"mixer"}`, 400, `{"errors":"Invalid component type"}`)
	h.expect("POST", "/room/nope/component", `{"type":"hls"}`, 404, `{"errors":"Room nope does not exist"}`)
	h.expect("POST", "/room/r/component", `{"type":"hls","options":"x"}`, 400, `{"errors":"Invalid request body structure"}`)
	for _, typ := range []string{"hls", "rtsp", "file", "sip", "recording"} {
		h.expect("POST", "/room/r/component", `{"type":"`+typ+`"}`, 400, `{"errors":"Unsupported component type: `+typ+` components are not implemented by this server yet"}`)
	}
	h.expect("DELETE", "/room/nope/component/c", "", 404, `{"errors":"Room nope does not exist"}`)
	h.expect("DELETE", "/room/r/component/c", "", 404, `{"errors":"Component c does not exist"}`)

	h.expect("POST", "/room/r/component/c/subscribe", `{}`, 400, `{"errors":"Invalid request body structure"}`)
	h.expect("POST", "/room/nope/component/c/subscribe", `{"origins":[]}`, 404, `{"errors":"Room nope does not exist"}`)
	h.expect("POST", "/room/r/component/c/subscribe/", `{"origins":["p"]}`, 400, `{"errors":"Component c does not exist"}`)

	h.expect("POST", "/sip/r/c/call", `{}`, 400, `{"errors":"Invalid request body structure"}`)
	h.expect("POST", "/sip/nope/c/call", `{"phoneNumber":"+1"}`, 404, `{"errors":"Room nope does not exist"}`)
	h.expect("POST", "/sip/r/c/call", `{"phoneNumber":"+1"}`, 400, `{"errors":"Component c does not exist"}`)
	h.expect("DELETE", "/sip/nope/c/call", "", 404, `{"errors":"Room nope does not exist"}`)
	h.expect("DELETE", "/sip/r/c/call", "", 400, `{"errors":"Component c does not exist"}`)
}

func TestRecordingsAndHLS(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, func(_ *jellyfish.Config, c *server.Config) { c.ResourcesPath = dir })
	h.expect("GET", "/recording", "", 200, `{"data":[]}`)
	rec := filepath.Join(dir, "recordings", "rec1")
	if err := os.MkdirAll(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rec, "index.m3u8"), []byte("#EXTM3U\n"), 0o644)
	os.WriteFile(filepath.Join(rec, "seg.m4s"), []byte{1, 2, 3}, 0o644)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("secret"), 0o644)
	os.Symlink(dir, filepath.Join(dir, "recordings", "escape"))

	h.expect("GET", "/recording", "", 200, `{"data":["rec1"]}`)
	r := h.expect("GET", "/recording/rec1/index.m3u8", "", 200, "#EXTM3U\n", "Authorization", "")
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("m3u8 Content-Type = %q", ct)
	}
	h.expect("GET", "/recording/rec1/seg.m4s", "", 200, "\x01\x02\x03")
	h.expect("GET", "/recording/rec1/missing.m4s", "", 404, `{"errors":"File not found"}`)
	h.expect("GET", "/recording/nope/index.m3u8", "", 404, `{"errors":"File not found"}`)
	h.expect("GET", "/recording/rec1/..%2F..%2Fsecret.txt", "", 400, `{"errors":"Invalid filename, got: ../../secret.txt"}`)
	h.expect("GET", "/recording/..%2Fx/index.m3u8", "", 400, `{"errors":"Invalid recording, got: ../x"}`)
	h.expect("GET", "/recording/escape/secret.txt", "", 404, `{"errors":"File not found"}`) // symlink out of the root
	h.expect("GET", "/recording/rec1", "", 404, `{"errors":{"detail":"Not Found"}}`)

	h.expect("DELETE", "/recording/.", "", 400, `{"errors":"Invalid recording id, got: ."}`)
	h.expect("DELETE", "/recording/..%2Foutside_file", "", 400, `{"errors":"Invalid recording id, got: ../outside_file"}`)
	h.expect("DELETE", "/recording/nope", "", 404, `{"errors":"Recording not found"}`)
	h.expect("DELETE", "/recording/escape", "", 404, `{"errors":"Recording not found"}`)
	h.expect("DELETE", "/recording/rec1", "", 204, "")
	if _, err := os.Stat(rec); !os.IsNotExist(err) {
		t.Errorf("recording dir still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.txt")); err != nil {
		t.Errorf("file outside the recordings was touched: %v", err)
	}

	h.expect("GET", "/hls/r/index.m3u8", "", 404, `{"errors":"File not found"}`, "Authorization", "")
	h.expect("GET", "/hls/r/..%2Fsecret.txt", "", 400, `{"errors":"Invalid filename, got ../secret.txt"}`)
}

func TestCORS(t *testing.T) {
	h := newHarness(t)
	r := h.do("OPTIONS", "/room", "", "Authorization", "", "Origin", "http://app.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: got %d %v, want 204 with CORS headers", r.status, r.header)
	}
	r = h.expect("GET", "/room", "", 200, "*", "Origin", "http://app.example")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET: no Access-Control-Allow-Origin")
	}
}
