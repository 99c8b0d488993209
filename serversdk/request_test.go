package serversdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/jellyfish-go/jellyfish/serversdk"
)

// recorded is what a fake server saw of one request.
type recorded struct {
	method, uri, auth, accept, contentType string
	body                                   any // decoded JSON, nil if none
}

// fakeServer answers every request with status and body, and records the request. It checks
// what the real server cannot show: the exact requests, and the success answers of endpoints
// whose components the real server does not implement yet.
func fakeServer(t *testing.T, status int, contentType, body string) (*serversdk.Client, *recorded) {
	t.Helper()
	var rec recorded
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec = recorded{method: r.Method, uri: r.URL.RequestURI(), auth: r.Header.Get("Authorization"),
			accept: r.Header.Get("Accept"), contentType: r.Header.Get("Content-Type")}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &rec.body); err != nil {
				t.Errorf("request body %q is not JSON: %v", b, err)
			}
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return serversdk.NewClient(ts.URL+"/", "tok", serversdk.WithHTTPClient(ts.Client())), &rec
}

func TestRequests(t *testing.T) {
	const jsonCT = "application/json; charset=utf-8"
	component := `{"data":{"id":"c1","type":"hls","tracks":[{"id":"t1","type":"video","metadata":{"k":1}}],
		"properties":{"lowLatency":true,"persistent":false,"playable":false,"subscribeMode":"manual","targetWindowDuration":null}}}`
	tests := []struct {
		name     string
		status   int
		ct, resp string
		call     func(context.Context, *serversdk.Client) (any, error)
		want     recorded // auth "" = no token expected
		wantOut  any
	}{
		{"add component", 201, jsonCT, component,
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return c.AddComponent(ctx, "r 1", serversdk.ComponentHLS, serversdk.HLSOptions{LowLatency: new(true), SubscribeMode: new("manual")})
			},
			recorded{method: "POST", uri: "/room/r%201/component", body: map[string]any{"type": "hls",
				"options": map[string]any{"lowLatency": true, "subscribeMode": "manual"}}},
			&serversdk.Component{ID: "c1", Type: "hls",
				Tracks: []serversdk.Track{{ID: "t1", Type: "video", Metadata: `{"k":1}`}},
				Properties: map[string]any{"lowLatency": true, "persistent": false, "playable": false,
					"subscribeMode": "manual", "targetWindowDuration": nil}}},
		{"add file component", 201, jsonCT, `{"data":{"id":"c2","type":"file","tracks":[],"properties":{"filePath":"a.ogg","framerate":null}}}`,
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return c.AddComponent(ctx, "r1", serversdk.ComponentFile, serversdk.FileOptions{FilePath: "a.ogg"})
			},
			recorded{method: "POST", uri: "/room/r1/component", body: map[string]any{"type": "file", "options": map[string]any{"filePath": "a.ogg"}}},
			&serversdk.Component{ID: "c2", Type: "file", Tracks: []serversdk.Track{},
				Properties: map[string]any{"filePath": "a.ogg", "framerate": nil}}},
		{"delete component", 204, "", "",
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return nil, c.DeleteComponent(ctx, "r1", "c1")
			},
			recorded{method: "DELETE", uri: "/room/r1/component/c1"}, nil},
		{"subscribe", 201, "text/plain", "Successfully subscribed for tracks",
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return nil, c.Subscribe(ctx, "r1", "c1", []string{"p1", "f2"})
			},
			recorded{method: "POST", uri: "/room/r1/component/c1/subscribe", body: map[string]any{"origins": []any{"p1", "f2"}}}, nil},
		{"subscribe to nothing", 201, "text/plain", "Successfully subscribed for tracks",
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return nil, c.Subscribe(ctx, "r1", "c1", nil)
			},
			recorded{method: "POST", uri: "/room/r1/component/c1/subscribe", body: map[string]any{"origins": []any{}}}, nil},
		{"dial", 201, "text/plain", "Successfully schedule calling phone_number: +48123",
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return nil, c.DialSIP(ctx, "r1", "c1", "+48123")
			},
			recorded{method: "POST", uri: "/sip/r1/c1/call", body: map[string]any{"phoneNumber": "+48123"}}, nil},
		{"end call", 204, jsonCT, "",
			func(ctx context.Context, c *serversdk.Client) (any, error) { return nil, c.EndSIPCall(ctx, "r1", "c1") },
			recorded{method: "DELETE", uri: "/sip/r1/c1/call"}, nil},
		{"add peer defaults", 201, jsonCT, `{"data":{"peer":{"id":"p","type":"webrtc","status":"disconnected","metadata":null,"tracks":[]},"token":"tk","peer_websocket_url":"h:1/socket/peer/websocket"}}`,
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return c.AddPeer(ctx, "r1", serversdk.PeerOptions{})
			},
			recorded{method: "POST", uri: "/room/r1/peer", body: map[string]any{"type": "webrtc", "options": map[string]any{}}},
			&serversdk.CreatedPeer{Peer: serversdk.Peer{ID: "p", Type: "webrtc", Status: "disconnected", Metadata: "null", Tracks: []serversdk.Track{}},
				Token: "tk", PeerWebsocketURL: "h:1/socket/peer/websocket"}},
		{"create room", 201, jsonCT, `{"data":{"jellyfish_address":"h:1","room":{"id":"x","config":{"roomId":"x","maxPeers":null},"peers":[],"components":[]}}}`,
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return c.CreateRoom(ctx, serversdk.RoomConfig{RoomID: new("x"), VideoCodec: new(serversdk.VideoCodecH264)})
			},
			recorded{method: "POST", uri: "/room", body: map[string]any{"roomId": "x", "videoCodec": "h264"}},
			&serversdk.CreatedRoom{JellyfishAddress: "h:1", Room: serversdk.Room{ID: "x", Config: serversdk.RoomConfig{RoomID: new("x")},
				Peers: []serversdk.Peer{}, Components: []serversdk.Component{}}}},
		{"hls content", 200, "application/vnd.apple.mpegurl", "#EXTM3U",
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return c.HLSContent(ctx, "r1", "index.m3u8", serversdk.HLSQuery{MSN: new(0), Part: new(2), Skip: "YES"})
			},
			recorded{method: "GET", uri: "/hls/r1/index.m3u8?_HLS_msn=0&_HLS_part=2&_HLS_skip=YES"}, []byte("#EXTM3U")},
		{"recording content", 200, "application/octet-stream", "\x00\x01",
			func(ctx context.Context, c *serversdk.Client) (any, error) {
				return c.RecordingContent(ctx, "rec", "seg 1.m4s")
			},
			recorded{method: "GET", uri: "/recording/rec/seg%201.m4s"}, []byte{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := fakeServer(t, tc.status, tc.ct, tc.resp)
			out, err := tc.call(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantOut != nil && !reflect.DeepEqual(out, tc.wantOut) {
				t.Errorf("result = %#v, want %#v", out, tc.wantOut)
			}
			if rec.method != tc.want.method || rec.uri != tc.want.uri || !reflect.DeepEqual(rec.body, tc.want.body) {
				t.Errorf("request = %s %s %#v, want %s %s %#v", rec.method, rec.uri, rec.body, tc.want.method, tc.want.uri, tc.want.body)
			}
			authenticated := rec.method != "GET" || (tc.name != "hls content" && tc.name != "recording content")
			if authenticated && (rec.auth != "Bearer tok" || rec.accept != "application/json") {
				t.Errorf("Authorization %q, Accept %q; want \"Bearer tok\", application/json", rec.auth, rec.accept)
			}
			if !authenticated && rec.auth != "" {
				t.Errorf("Authorization %q sent to an unauthenticated route", rec.auth)
			}
			if wantCT := map[bool]string{true: "application/json"}[tc.want.body != nil]; rec.contentType != wantCT {
				t.Errorf("Content-Type %q, want %q", rec.contentType, wantCT)
			}
		})
	}
}

func TestAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   serversdk.APIError
		text   string
	}{
		{"application error", 404, `{"errors":"Room x does not exist"}`,
			serversdk.APIError{Status: 404, Message: "Room x does not exist"}, "serversdk: 404 Not Found: Room x does not exist"},
		{"framework error", 406, `{"errors":{"detail":"Not Acceptable"}}`,
			serversdk.APIError{Status: 406, Detail: "Not Acceptable"}, "serversdk: 406 Not Acceptable: Not Acceptable"},
		{"not json", 502, "bad gateway\n", serversdk.APIError{Status: 502, Body: "bad gateway"}, "serversdk: 502 Bad Gateway: bad gateway"},
		{"empty", 500, "", serversdk.APIError{Status: 500}, "serversdk: 500 Internal Server Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeServer(t, tc.status, "", tc.body)
			_, err := c.GetRoom(t.Context(), "x")
			e, ok := errors.AsType[*serversdk.APIError](err)
			if !ok || *e != tc.want {
				t.Fatalf("err = %#v, want %#v", err, tc.want)
			}
			if err.Error() != tc.text {
				t.Errorf("Error() = %q, want %q", err.Error(), tc.text)
			}
		})
	}
}

func TestBadAnswer(t *testing.T) {
	c, _ := fakeServer(t, 200, "application/json", `{"data":[`)
	if _, err := c.ListRooms(t.Context()); err == nil || serversdk.StatusCode(err) != 0 {
		t.Errorf("ListRooms on a truncated answer = %v, want a decode error", err)
	}
}
