package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// FuzzRoomOptions feeds arbitrary bodies through the REST parsing of room options. Property:
// whatever the type checks let through, the engine either accepts or rejects with a
// *ValidationError (never another error, never a panic), and a rejection by the type checks
// always carries one of Jellyfish's messages.
func FuzzRoomOptions(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"roomId":"a-1","maxPeers":3,"videoCodec":"h264","webhookUrl":"http://h/p","peerlessPurgeTimeout":5,"peerDisconnectedTimeout":5}`,
		`{"roomId":"test/path"}`, `{"maxPeers":"nan"}`, `{"maxPeers":1e3}`, `{"videoCodec":null}`, `[1]`, `{"webhookUrl":{}}`,
		`{"peerlessPurgeTimeout":99999999999999999999}`, `{"roomId":"\u00e9"}`, `{"maxPeers":-0}`,
	} {
		f.Add(seed)
	}
	e, _ := jellyfish.New(jellyfish.Config{Logger: discard()})
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/room", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		p, err := readParams(req)
		if err != nil {
			if !errors.Is(err, errBadRequest) && !errors.Is(err, errTooLarge) {
				t.Fatalf("readParams: unexpected error %v", err)
			}
			return
		}
		cfg, msg := roomConfigFromParams(p)
		if msg != "" {
			if !strings.HasPrefix(msg, "Cannot add room") && !strings.HasPrefix(msg, "Expected ") {
				t.Fatalf("message %q is not one of Jellyfish's", msg)
			}
			return
		}
		room, err := e.CreateRoom(cfg)
		var verr *jellyfish.ValidationError
		switch {
		case err == nil:
			e.DeleteRoom(room.ID())
		case !errors.As(err, &verr):
			t.Fatalf("CreateRoom(%+v): %v is not a ValidationError", cfg, err)
		}
	})
}

// FuzzPeerOptions: the peer body parser never panics and accepts options only when they are an
// object whose enableSimulcast, if present, is a boolean or null.
func FuzzPeerOptions(f *testing.F) {
	for _, seed := range []string{`{"type":"webrtc"}`, `{"type":"webrtc","options":{"enableSimulcast":false}}`, `{"options":[]}`, `{"options":{"enableSimulcast":"x"}}`, `"x"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/room/r/peer", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		p, err := readParams(req)
		if err != nil {
			return
		}
		opts, ok := peerOptions(p)
		if !ok && opts.DisableSimulcast {
			t.Fatalf("rejected options leaked a value: %+v", opts)
		}
		if ok && p.present("options") && string(p["options"])[0] != '{' && !strings.HasPrefix(strings.TrimSpace(string(p["options"])), "{") {
			t.Fatalf("accepted non-object options %s", p["options"])
		}
	})
}
