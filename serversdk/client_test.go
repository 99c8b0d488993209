package serversdk_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/serversdk"
)

func TestHealth(t *testing.T) {
	env := newEnv(t)
	h, err := env.client.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := serversdk.Health{Status: "UP", Uptime: h.Uptime, Version: "0.5.0", GitCommit: "dev",
		Distribution: serversdk.HealthDistribution{Enabled: false, NodeStatus: "DOWN", NodesInCluster: 0}}
	if *h != want || h.Uptime < 0 {
		t.Errorf("Health = %+v, want %+v", *h, want)
	}
	env.requireValidated(t)
}

// webhookSink is an HTTP endpoint on 127.0.0.1 that decodes the webhook bodies it receives.
type webhookSink struct {
	url    string
	events chan serversdk.Event
}

func newWebhookSink(t *testing.T) *webhookSink {
	t.Helper()
	sink := &webhookSink{events: make(chan serversdk.Event, 64)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			t.Errorf("webhook Content-Type = %q, want application/x-protobuf", ct)
		}
		ev, err := serversdk.DecodeNotification(body)
		if err != nil {
			t.Errorf("DecodeNotification(webhook body % x): %v", body, err)
		} else {
			sink.events <- ev
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ts.Close)
	sink.url = ts.URL + "/hook"
	return sink
}

func TestRoomAndPeerLifecycle(t *testing.T) {
	sink := newWebhookSink(t) // closed after the server, which posts to it
	env := newEnv(t)
	ctx := t.Context()
	c := env.client

	cfg := serversdk.RoomConfig{
		RoomID:                  new("sdk-room-1"),
		MaxPeers:                new(2),
		VideoCodec:              new(serversdk.VideoCodecVP8),
		WebhookURL:              new(sink.url),
		PeerlessPurgeTimeout:    new(60),
		PeerDisconnectedTimeout: new(30),
	}
	created, err := c.CreateRoom(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if created.JellyfishAddress != env.address {
		t.Errorf("JellyfishAddress = %q, want %q", created.JellyfishAddress, env.address)
	}
	room := created.Room
	if room.ID != "sdk-room-1" || len(room.Peers) != 0 || len(room.Components) != 0 {
		t.Errorf("created room = %+v, want id sdk-room-1 and no members", room)
	}
	if got := room.Config; !sameConfig(got, cfg) {
		t.Errorf("config = %s, want %s", describe(got), describe(cfg))
	}

	got, err := c.GetRoom(ctx, "sdk-room-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != room.ID || !sameConfig(got.Config, cfg) {
		t.Errorf("GetRoom = %+v, want %+v", got, room)
	}

	peer, err := c.AddPeer(ctx, room.ID, serversdk.PeerOptions{EnableSimulcast: new(false)})
	if err != nil {
		t.Fatal(err)
	}
	p := peer.Peer
	if p.ID == "" || p.Type != serversdk.PeerTypeWebRTC || p.Status != serversdk.PeerStatusDisconnected ||
		p.Metadata != "null" || p.Tracks == nil || len(p.Tracks) != 0 {
		t.Errorf("AddPeer peer = %+v, want a disconnected webrtc peer, metadata null, no tracks", p)
	}
	if peer.Token == "" {
		t.Error("AddPeer token is empty")
	}
	if want := env.address + "/socket/peer/websocket"; peer.PeerWebsocketURL != want {
		t.Errorf("PeerWebsocketURL = %q, want %q", peer.PeerWebsocketURL, want)
	}

	rooms, err := c.ListRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0].ID != room.ID || len(rooms[0].Peers) != 1 || rooms[0].Peers[0].ID != p.ID {
		t.Errorf("ListRooms = %+v, want the room with its peer %s", rooms, p.ID)
	}

	if err := c.DeletePeer(ctx, room.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetRoom(ctx, room.ID); err != nil || len(got.Peers) != 0 {
		t.Errorf("GetRoom after DeletePeer = %+v, %v; want no peers", got, err)
	}
	if err := c.DeleteRoom(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRoom(ctx, room.ID)
	wantAPIError(t, err, http.StatusNotFound, "Room sdk-room-1 does not exist")
	if !serversdk.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}
	if rooms, err := c.ListRooms(ctx); err != nil || len(rooms) != 0 {
		t.Errorf("ListRooms after DeleteRoom = %+v, %v; want []", rooms, err)
	}

	// The webhook got the room's notifications, decodable with DecodeNotification.
	want := []serversdk.Event{
		serversdk.RoomCreated{RoomID: room.ID},
		serversdk.PeerAdded{RoomID: room.ID, PeerID: p.ID},
		serversdk.PeerDeleted{RoomID: room.ID, PeerID: p.ID},
		serversdk.RoomDeleted{RoomID: room.ID},
	}
	for i, w := range want {
		select {
		case ev := <-sink.events:
			if ev != w {
				t.Fatalf("webhook event %d = %#v, want %#v", i, ev, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("webhook event %d: none within 5s, want %#v", i, w)
		}
	}
	env.requireValidated(t)
}

func TestCreateRoomDefaults(t *testing.T) {
	env := newEnv(t)
	created, err := env.client.CreateRoom(t.Context(), serversdk.RoomConfig{})
	if err != nil {
		t.Fatal(err)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(created.Room.ID) {
		t.Errorf("generated room id %q is not a UUID v4", created.Room.ID)
	}
	want := serversdk.RoomConfig{RoomID: new(created.Room.ID)}
	if !sameConfig(created.Room.Config, want) {
		t.Errorf("config = %s, want %s", describe(created.Room.Config), describe(want))
	}
	env.requireValidated(t)
}

func TestErrors(t *testing.T) {
	env := newEnv(t)
	ctx := t.Context()
	c := env.client
	if _, err := c.CreateRoom(ctx, serversdk.RoomConfig{RoomID: new("r1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoom(ctx, serversdk.RoomConfig{RoomID: new("full"), MaxPeers: new(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPeer(ctx, "full", serversdk.PeerOptions{}); err != nil {
		t.Fatal(err)
	}
	wrongToken := serversdk.NewClient(env.ts.URL, "wrong", serversdk.WithHTTPClient(&http.Client{
		Transport: env.spec.Transport(t, env.ts.Client().Transport)}))
	const unsupportedHLS = "Unsupported component type: hls"

	tests := []struct {
		name    string
		call    func() error
		status  int
		message string
		prefix  bool // message is only the start of the expected one
	}{
		{"wrong token", func() error { _, err := wrongToken.Health(ctx); return err }, 401, "Invalid token", false},
		{"wrong token list", func() error { _, err := wrongToken.ListRooms(ctx); return err }, 401, "Invalid token", false},
		{"get missing room", func() error { _, err := c.GetRoom(ctx, "nope"); return err }, 404, "Room nope does not exist", false},
		{"delete missing room", func() error { return c.DeleteRoom(ctx, "nope") }, 404, "Room nope does not exist", false},
		{"add peer to missing room", func() error { _, err := c.AddPeer(ctx, "nope", serversdk.PeerOptions{}); return err }, 404, "Room nope does not exist", false},
		{"invalid peer type", func() error { _, err := c.AddPeer(ctx, "r1", serversdk.PeerOptions{Type: "sip"}); return err }, 400, "Invalid peer type", false},
		{"peer limit", func() error { _, err := c.AddPeer(ctx, "full", serversdk.PeerOptions{}); return err }, 503, "Reached peer limit in room full", false},
		{"delete missing peer", func() error { return c.DeletePeer(ctx, "r1", "p1") }, 404, "Peer p1 does not exist", false},
		{"delete peer of missing room", func() error { return c.DeletePeer(ctx, "nope", "p1") }, 404, "Room nope does not exist", false},
		{"bad room id", func() error { _, err := c.CreateRoom(ctx, serversdk.RoomConfig{RoomID: new("a/b")}); return err }, 400,
			`Cannot add room with id "a/b" - roomId may contain only alphanumeric characters and hyphens`, false},
		{"duplicate room id", func() error { _, err := c.CreateRoom(ctx, serversdk.RoomConfig{RoomID: new("r1")}); return err }, 400,
			`Cannot add room with id "r1" - room already exists`, false},
		{"negative maxPeers", func() error { _, err := c.CreateRoom(ctx, serversdk.RoomConfig{MaxPeers: new(-1)}); return err }, 400,
			"Expected maxPeers to be a number, got: -1", false},
		{"bad videoCodec", func() error { _, err := c.CreateRoom(ctx, serversdk.RoomConfig{VideoCodec: new("h265")}); return err }, 400,
			"Expected videoCodec to be 'h264' or 'vp8', got: h265", false},
		{"webhookUrl without path", func() error {
			_, err := c.CreateRoom(ctx, serversdk.RoomConfig{WebhookURL: new("http://127.0.0.1:9")})
			return err
		}, 400, "Expected webhookUrl to be valid URL, got: http://127.0.0.1:9", false},
		{"zero peerlessPurgeTimeout", func() error {
			_, err := c.CreateRoom(ctx, serversdk.RoomConfig{PeerlessPurgeTimeout: new(0)})
			return err
		}, 400,
			"Expected peerlessPurgeTimeout to be a positive integer, got: 0", false},
		{"negative peerDisconnectedTimeout", func() error {
			_, err := c.CreateRoom(ctx, serversdk.RoomConfig{PeerDisconnectedTimeout: new(-5)})
			return err
		}, 400, "Expected peerDisconnectedTimeout to be a positive integer, got: -5", false},
		{"add hls component", func() error {
			_, err := c.AddComponent(ctx, "r1", serversdk.ComponentHLS, serversdk.HLSOptions{LowLatency: new(true)})
			return err
		}, 400, unsupportedHLS, true},
		{"add component without options", func() error { _, err := c.AddComponent(ctx, "r1", serversdk.ComponentHLS, nil); return err }, 400, unsupportedHLS, true},
		{"invalid component type", func() error { _, err := c.AddComponent(ctx, "r1", "camera", nil); return err }, 400, "Invalid component type", false},
		{"add component to missing room", func() error { _, err := c.AddComponent(ctx, "nope", serversdk.ComponentFile, nil); return err }, 404, "Room nope does not exist", false},
		{"delete missing component", func() error { return c.DeleteComponent(ctx, "r1", "c1") }, 404, "Component c1 does not exist", false},
		{"delete component of missing room", func() error { return c.DeleteComponent(ctx, "nope", "c1") }, 404, "Room nope does not exist", false},
		{"subscribe missing component", func() error { return c.Subscribe(ctx, "r1", "c1", []string{"p1"}) }, 400, "Component c1 does not exist", false},
		{"subscribe in missing room", func() error { return c.Subscribe(ctx, "nope", "c1", nil) }, 404, "Room nope does not exist", false},
		{"dial missing component", func() error { return c.DialSIP(ctx, "r1", "c1", "+123456") }, 400, "Component c1 does not exist", false},
		{"dial in missing room", func() error { return c.DialSIP(ctx, "nope", "c1", "+123456") }, 404, "Room nope does not exist", false},
		{"end call of missing component", func() error { return c.EndSIPCall(ctx, "r1", "c1") }, 400, "Component c1 does not exist", false},
		{"end call in missing room", func() error { return c.EndSIPCall(ctx, "nope", "c1") }, 404, "Room nope does not exist", false},
		{"delete missing recording", func() error { return c.DeleteRecording(ctx, "rec") }, 404, "Recording not found", false},
		{"missing recording content", func() error { _, err := c.RecordingContent(ctx, "rec", "index.m3u8"); return err }, 404, "File not found", false},
		{"recording content escaping", func() error { _, err := c.RecordingContent(ctx, "rec", "../x.m3u8"); return err }, 400, "Invalid filename, got: ../x.m3u8", false},
		{"hls without component", func() error { _, err := c.HLSContent(ctx, "r1", "index.m3u8", serversdk.HLSQuery{}); return err }, 404, "File not found", false},
		{"hls blocking reload", func() error {
			_, err := c.HLSContent(ctx, "r1", "index.m3u8", serversdk.HLSQuery{MSN: new(3), Part: new(0), Skip: "YES"})
			return err
		}, 404, "File not found", false},
		{"hls filename escaping", func() error { _, err := c.HLSContent(ctx, "r1", "../x.m3u8", serversdk.HLSQuery{}); return err }, 400, "Invalid filename, got ../x.m3u8", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !tc.prefix {
				wantAPIError(t, err, tc.status, tc.message)
				return
			}
			e, ok := errors.AsType[*serversdk.APIError](err)
			if !ok || e.Status != tc.status || !strings.HasPrefix(e.Message, tc.message) {
				t.Fatalf("err = %v, want *APIError %d %q...", err, tc.status, tc.message)
			}
		})
	}

	// Status helpers.
	_, err := c.AddPeer(ctx, "full", serversdk.PeerOptions{})
	if !serversdk.IsServiceUnavailable(err) || serversdk.IsNotFound(err) || serversdk.StatusCode(err) != 503 {
		t.Errorf("helpers on %v: IsServiceUnavailable false or IsNotFound true", err)
	}
	_, err = wrongToken.Health(ctx)
	if !serversdk.IsUnauthorized(err) {
		t.Errorf("IsUnauthorized(%v) = false", err)
	}
	_, err = c.CreateRoom(ctx, serversdk.RoomConfig{MaxPeers: new(-1)})
	if !serversdk.IsBadRequest(err) {
		t.Errorf("IsBadRequest(%v) = false", err)
	}
	if want := "serversdk: 503 Service Unavailable: Reached peer limit in room full"; !strings.Contains(errorString(c.AddPeer(ctx, "full", serversdk.PeerOptions{})), want) {
		t.Errorf("error text does not contain %q", want)
	}
	env.requireValidated(t)
}

func errorString(_ any, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestRecordings(t *testing.T) {
	env := newEnv(t)
	ctx := t.Context()
	c := env.client

	ids, err := c.ListRecordings(ctx)
	if err != nil || ids == nil || len(ids) != 0 {
		t.Fatalf("ListRecordings = %#v, %v; want []", ids, err)
	}

	// A finished persistent-HLS recording, as the HLS component leaves it on disk.
	dir := filepath.Join(env.resources, "recordings", "rec-1")
	playlist := []byte("#EXTM3U\n#EXT-X-VERSION:7\n")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.m3u8"), playlist, 0o644); err != nil {
		t.Fatal(err)
	}
	ids, err = c.ListRecordings(ctx)
	if err != nil || !slices.Equal(ids, []string{"rec-1"}) {
		t.Fatalf("ListRecordings = %q, %v; want [rec-1]", ids, err)
	}
	got, err := c.RecordingContent(ctx, "rec-1", "index.m3u8")
	if err != nil || string(got) != string(playlist) {
		t.Fatalf("RecordingContent = %q, %v; want %q", got, err, playlist)
	}
	if err := c.DeleteRecording(ctx, "rec-1"); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteRecording(ctx, "rec-1")
	wantAPIError(t, err, http.StatusNotFound, "Recording not found")
	if ids, err := c.ListRecordings(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("ListRecordings after delete = %q, %v; want []", ids, err)
	}
	env.requireValidated(t)
}

func sameConfig(a, b serversdk.RoomConfig) bool { return describe(a) == describe(b) }

// describe renders a config with its pointers dereferenced.
func describe(c serversdk.RoomConfig) string {
	var b strings.Builder
	field := func(name string, v any) {
		b.WriteString(name + "=")
		switch v := v.(type) {
		case *string:
			if v == nil {
				b.WriteString("nil")
			} else {
				b.WriteString(*v)
			}
		case *int:
			if v == nil {
				b.WriteString("nil")
			} else {
				b.WriteString(strconv.Itoa(*v))
			}
		}
		b.WriteString(" ")
	}
	field("roomId", c.RoomID)
	field("maxPeers", c.MaxPeers)
	field("videoCodec", c.VideoCodec)
	field("webhookUrl", c.WebhookURL)
	field("peerlessPurgeTimeout", c.PeerlessPurgeTimeout)
	field("peerDisconnectedTimeout", c.PeerDisconnectedTimeout)
	return strings.TrimSpace(b.String())
}
