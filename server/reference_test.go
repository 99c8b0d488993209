package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/jellyfish-go/jellyfish/internal/apitest"
)

// TestReferenceSpec replays a backend's ordinary session with every answer validated against
// Jellyfish v0.5.0's original openapi.yaml (not ours): a client generated from it works
// against this server unchanged. Application errors ({"errors": "..."}) are included; the
// framework errors and the 204 of DELETE /sip/.../call are where the original spec itself is
// wrong (server-api.md §16), so they are left to TestRest* and our own spec.
func TestReferenceSpec(t *testing.T) {
	h := newHarness(t)
	ref := apitest.LoadReference(t)
	h.client = &http.Client{Transport: h.spec.Transport(t, ref.Transport(t, nil))} // both specs

	h.expect("GET", "/health", "", 200, "*")
	h.expect("POST", "/room", `{"roomId":"ref","maxPeers":2,"videoCodec":"h264","peerlessPurgeTimeout":60}`, 201, "*")
	h.expect("POST", "/room", `{}`, 201, "*")
	r := h.expect("POST", "/room/ref/peer", `{"type":"webrtc","options":{"enableSimulcast":true}}`, 201, "*")
	var out struct {
		Data struct{ Peer struct{ ID string } }
	}
	json.Unmarshal([]byte(r.body), &out)
	h.expect("GET", "/room", "", 200, "*")
	h.expect("GET", "/room/ref", "", 200, "*")
	h.expect("GET", "/room/nope", "", 404, "*")
	h.expect("POST", "/room", `{"maxPeers":"x"}`, 400, "*")
	h.expect("GET", "/room", "", 401, "*", "Authorization", "Bearer wrong")
	h.expect("POST", "/room/ref/peer", `{"type":"webrtc"}`, 201, "*")
	h.expect("POST", "/room/ref/peer", `{"type":"webrtc"}`, 503, "*")
	h.expect("POST", "/room/ref/component", `{"type":"hls"}`, 400, "*")
	h.expect("DELETE", "/room/ref/peer/"+out.Data.Peer.ID, "", 204, "")
	h.expect("GET", "/recording", "", 200, "*")
	h.expect("DELETE", "/room/ref", "", 204, "")
	if ref.Checked() < 14 {
		t.Errorf("the reference spec validated %d answers, want 14", ref.Checked())
	}
}
