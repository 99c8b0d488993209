package rtsp_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/apitest"
	"github.com/jellyfish-go/jellyfish/internal/testserver"
)

// TestRESTOptions checks every answer of POST /room/{id}/component for type "rtsp": the
// messages of Jellyfish v0.5.0 in its order (room codec first, then the required sourceUri,
// then types and ranges) and the properties with defaults. Responses are also checked against
// our openapi.yaml and Jellyfish's own.
func TestRESTOptions(t *testing.T) {
	srv := startServer(t)
	for id, codec := range map[string]jellyfish.VideoCodec{"h264": jellyfish.VideoCodecH264, "vp8": jellyfish.VideoCodecVP8, "any": jellyfish.VideoCodecAny} {
		if _, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{RoomID: id, VideoCodec: codec}); err != nil {
			t.Fatal(err)
		}
	}
	ours, ref := apitest.Load(t), apitest.LoadReference(t)
	client := &http.Client{Transport: ours.Transport(t, ref.Transport(t, nil))}
	post := func(room, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/room/"+room+"/component", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testserver.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}

	const (
		invalid = `{"errors":"Invalid request body structure"}`
		missing = `{"errors":"Required field \"sourceUri\" missing"}`
	)
	uri := "rtsp://127.0.0.1:1/stream" // nothing listens there: the component keeps retrying
	for _, tc := range []struct {
		name, room, options string
		want                string
	}{
		{"vp8 room, before options", "vp8", `{}`, `{"errors":"Incompatible video codec enforced in room vp8"}`},
		{"vp8 room", "vp8", `{"sourceUri":"` + uri + `"}`, `{"errors":"Incompatible video codec enforced in room vp8"}`},
		{"room without codec", "any", `{"sourceUri":"` + uri + `"}`, `{"errors":"Incompatible video codec enforced in room any"}`},
		{"no options", "h264", ``, missing},
		{"empty options", "h264", `{}`, missing},
		{"missing before invalid", "h264", `{"rtpPort":"x"}`, missing},
		{"sourceUri number", "h264", `{"sourceUri":5}`, invalid},
		{"sourceUri null", "h264", `{"sourceUri":null}`, invalid},
		{"rtpPort 0", "h264", `{"sourceUri":"` + uri + `","rtpPort":0}`, invalid},
		{"rtpPort 65536", "h264", `{"sourceUri":"` + uri + `","rtpPort":65536}`, invalid},
		{"rtpPort string", "h264", `{"sourceUri":"` + uri + `","rtpPort":"20000"}`, invalid},
		{"rtpPort fraction", "h264", `{"sourceUri":"` + uri + `","rtpPort":200.5}`, invalid},
		{"rtpPort null", "h264", `{"sourceUri":"` + uri + `","rtpPort":null}`, invalid},
		{"reconnectDelay negative", "h264", `{"sourceUri":"` + uri + `","reconnectDelay":-1}`, invalid},
		{"reconnectDelay huge", "h264", `{"sourceUri":"` + uri + `","reconnectDelay":1e400}`, invalid},
		{"keepAliveInterval negative", "h264", `{"sourceUri":"` + uri + `","keepAliveInterval":-5}`, invalid},
		{"keepAliveInterval bool", "h264", `{"sourceUri":"` + uri + `","keepAliveInterval":true}`, invalid},
		{"pierceNat string", "h264", `{"sourceUri":"` + uri + `","pierceNat":"true"}`, invalid},
		{"pierceNat number", "h264", `{"sourceUri":"` + uri + `","pierceNat":1}`, invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"type":"rtsp"}`
			if tc.options != "" {
				body = `{"type":"rtsp","options":` + tc.options + `}`
			}
			if code, got := post(tc.room, body); code != 400 || got != tc.want {
				t.Errorf("POST %s = %d %s, want 400 %s", body, code, got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, options, props string
	}{
		{"defaults", `{"sourceUri":"` + uri + `"}`,
			`{"keepAliveInterval":15000,"pierceNat":true,"reconnectDelay":15000,"rtpPort":20000,"sourceUri":"` + uri + `"}`},
		{"custom", `{"sourceUri":"` + uri + `","rtpPort":34567,"reconnectDelay":500,"keepAliveInterval":20000,"pierceNat":false,"unknown":1}`,
			`{"keepAliveInterval":20000,"pierceNat":false,"reconnectDelay":500,"rtpPort":34567,"sourceUri":"` + uri + `"}`},
		{"bounds", `{"sourceUri":"","rtpPort":65535,"reconnectDelay":0,"keepAliveInterval":0}`,
			`{"keepAliveInterval":0,"pierceNat":true,"reconnectDelay":0,"rtpPort":65535,"sourceUri":""}`},
		{"low port", `{"sourceUri":"` + uri + `","rtpPort":1}`,
			`{"keepAliveInterval":15000,"pierceNat":true,"reconnectDelay":15000,"rtpPort":1,"sourceUri":"` + uri + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := post("h264", `{"type":"rtsp","options":`+tc.options+`}`)
			var resp struct {
				Data struct {
					ID         string          `json:"id"`
					Type       string          `json:"type"`
					Properties json.RawMessage `json:"properties"`
					Tracks     json.RawMessage `json:"tracks"`
				} `json:"data"`
			}
			if code != 201 || json.Unmarshal([]byte(got), &resp) != nil {
				t.Fatalf("POST = %d %s, want 201", code, got)
			}
			d := resp.Data
			if d.ID == "" || d.Type != "rtsp" || string(d.Tracks) != "[]" || string(d.Properties) != tc.props {
				t.Errorf("component = %s,\nwant properties %s, type rtsp, tracks []", got, tc.props)
			}
		})
	}
	if ours.Checked() == 0 || ref.Checked() == 0 {
		t.Error(fmt.Sprintf("responses validated: %d against ours, %d against the reference", ours.Checked(), ref.Checked()))
	}
}
