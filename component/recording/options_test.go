package recording_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/recording"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
	"github.com/jellyfish-go/jellyfish/internal/testserver"
)

const (
	msgBody     = "Invalid request body structure"
	msgNoCreds  = "S3 credentials has to be passed either by request or at application startup as envs"
	msgCreds    = "Conflicting S3 credentials supplied via environment variables and the REST API. Overrides on existing values are disallowed"
	msgPrefix   = "Conflicting S3 path prefix supplied via environment variables and the REST API. Overrides on existing values are disallowed"
	msgDisabled = "Recording components are disabled on this server (JF_RECORDING_USED=false)"
	creds       = `{"accessKeyId": "id", "secretAccessKey": "secret", "region": "eu-west-1", "bucket": "recordings"}`
)

// idle is a component that does nothing until removed.
type idle struct{}

func (idle) Run(ctx context.Context, _ *jellyfish.ComponentMember) error { <-ctx.Done(); return nil }

func addErr(room *jellyfish.Room, options string) error {
	var raw json.RawMessage
	if options != "" {
		raw = json.RawMessage(options)
	}
	m, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRecording, Options: raw})
	if err == nil {
		if rerr := room.RemoveComponent(m.ID()); rerr != nil {
			return rerr
		}
	}
	return err
}

// wantMsg checks that err is a 400 ValidationError with msg ("" = no error).
func wantMsg(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var verr *jellyfish.ValidationError
	switch {
	case msg == "" && err != nil:
		t.Errorf("%s: %v, want success", what, err)
	case msg == "":
	case !errors.As(err, &verr) || verr.NotFound || verr.Msg != msg:
		t.Errorf("%s: %v, want 400 %q", what, err, msg)
	}
}

func TestValidation(t *testing.T) {
	envS3 := &s3upload.Target{Credentials: s3upload.Credentials{AccessKeyID: "a", SecretAccessKey: "b", Region: "c", Bucket: "d"}}
	envPrefix := "env"
	for _, tc := range []struct {
		name    string
		cfg     recording.Config // Base and Enabled are set below
		options string
		msg     string
	}{
		{"env credentials", recording.Config{S3: envS3}, "", ""},
		{"request credentials", recording.Config{}, `{"credentials": ` + creds + `}`, ""},
		{"all options", recording.Config{}, `{"credentials": ` + creds + `, "pathPrefix": "p", "subscribeMode": "manual", "unknown": 1}`, ""},
		{"nulls", recording.Config{S3: envS3, PathPrefix: &envPrefix}, `{"credentials": null, "pathPrefix": null}`, ""},
		{"no credentials", recording.Config{}, "", msgNoCreds},
		{"no credentials, null", recording.Config{}, `{"credentials": null}`, msgNoCreds},
		{"both credentials", recording.Config{S3: envS3}, `{"credentials": ` + creds + `}`, msgCreds},
		{"both prefixes", recording.Config{S3: envS3, PathPrefix: &envPrefix}, `{"pathPrefix": "req"}`, msgPrefix},
		{"empty prefix is a prefix", recording.Config{S3: envS3, PathPrefix: &envPrefix}, `{"pathPrefix": ""}`, msgPrefix},
		{"credentials before prefix", recording.Config{S3: envS3, PathPrefix: &envPrefix}, `{"credentials": ` + creds + `, "pathPrefix": "x"}`, msgCreds},
		{"types before credentials", recording.Config{}, `{"subscribeMode": "x"}`, msgBody},
		{"credentials string", recording.Config{}, `{"credentials": "x"}`, msgBody},
		{"credentials number", recording.Config{S3: envS3}, `{"credentials": 5}`, msgBody},
		{"credentials missing field", recording.Config{}, `{"credentials": {"accessKeyId": "a", "secretAccessKey": "b", "region": "c"}}`, msgBody},
		{"credentials field type", recording.Config{}, `{"credentials": {"accessKeyId": 1, "secretAccessKey": "b", "region": "c", "bucket": "d"}}`, msgBody},
		{"pathPrefix number", recording.Config{S3: envS3}, `{"pathPrefix": 5}`, msgBody},
		{"pathPrefix bool", recording.Config{S3: envS3}, `{"pathPrefix": true}`, msgBody},
		{"subscribeMode enum", recording.Config{S3: envS3}, `{"subscribeMode": "sometimes"}`, msgBody},
		{"subscribeMode case", recording.Config{S3: envS3}, `{"subscribeMode": "AUTO"}`, msgBody},
		{"subscribeMode null", recording.Config{S3: envS3}, `{"subscribeMode": null}`, msgBody},
		{"subscribeMode number", recording.Config{S3: envS3}, `{"subscribeMode": 1}`, msgBody},
		{"options array", recording.Config{S3: envS3}, `[]`, msgBody},
		{"options string", recording.Config{S3: envS3}, `"auto"`, msgBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Base, cfg.Enabled = t.TempDir(), true
			room := newRoom(t, cfg, jellyfish.VideoCodecH264)
			wantMsg(t, tc.options, addErr(room, tc.options), tc.msg)
		})
	}
}

// TestRoomChecks: JF_RECORDING_USED first, then the codec, then the limit, then the options.
func TestRoomChecks(t *testing.T) {
	cfg := recording.Config{Base: t.TempDir(), Enabled: true}
	for _, codec := range []jellyfish.VideoCodec{jellyfish.VideoCodecAny, jellyfish.VideoCodecVP8} {
		room := newRoom(t, cfg, codec)
		// A "recording" already there does not change the answer: the codec comes first.
		if _, err := room.StartComponent(jellyfish.ComponentRecording, idle{}); err != nil {
			t.Fatal(err)
		}
		wantMsg(t, "codec "+string(codec), addErr(room, `{"subscribeMode": "x"}`), "Incompatible video codec enforced in room "+room.ID())
	}

	cfg.S3 = &s3upload.Target{Credentials: s3upload.Credentials{AccessKeyID: "a", SecretAccessKey: "b", Region: "c", Bucket: "d"}}
	room := newRoom(t, cfg, jellyfish.VideoCodecH264)
	m, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRecording})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(m.Info().Properties); string(got) != `{"subscribeMode":"auto"}` {
		t.Errorf("properties %s, want {\"subscribeMode\":\"auto\"}", got)
	}
	limit := "Reached recording components limit for component in room " + room.ID()
	wantMsg(t, "second recorder", addErr(room, ""), limit)
	wantMsg(t, "second recorder, bad options", addErr(room, `{"subscribeMode": "x"}`), limit)
	if err := room.RemoveComponent(m.ID()); err != nil {
		t.Fatal(err)
	}
	wantMsg(t, "recorder after removal", addErr(room, ""), "")

	off := cfg
	off.Enabled = false
	vp8 := newRoom(t, off, jellyfish.VideoCodecVP8)
	wantMsg(t, "disabled", addErr(vp8, `{"subscribeMode": "x"}`), msgDisabled)
}

func newRoom(t *testing.T, cfg recording.Config, codec jellyfish.VideoCodec) *jellyfish.Room {
	t.Helper()
	e, err := jellyfish.New(jellyfish.Config{Logger: testlog.New(t, slog.LevelWarn), ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{
		jellyfish.ComponentRecording: recording.Factory(cfg),
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	room, err := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: codec})
	if err != nil {
		t.Fatal(err)
	}
	return room
}

// TestRequestCredentials: credentials from the request go to the configured endpoint
// (JF_S3_ENDPOINT), under the request's prefix.
func TestRequestCredentials(t *testing.T) {
	_, audio := fixtures(t)
	e := newEnv(t, func(c *recording.Config) {
		c.Endpoint, c.Insecure = c.S3.Endpoint, true
		c.S3 = nil
	})
	rec := e.addRecorder(t, `{"credentials": {"accessKeyId": "k", "secretAccessKey": "s", "region": "eu-central-1", "bucket": "recordings"}, "pathPrefix": "/req/"}`)
	src := newSource(nil, audio[:10])
	src.finish = true
	e.startSource(t, src)
	wait(t, src.done, "the source")
	dir := partDir(t, rec)
	waitFiles(t, dir, 1)
	if err := e.room.RemoveComponent(rec.ID()); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, e, []string{"req/" + e.room.ID() + "/" + filepath.Base(dir) + "/report.json"})
}

// TestREST adds recorders through the REST API: status codes and bodies.
func TestREST(t *testing.T) {
	cfg := recording.Config{Base: t.TempDir(), Enabled: true}
	srv := testserver.StartWith(t, testlog.New(t, slog.LevelWarn), testserver.Options{
		ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{jellyfish.ComponentRecording: recording.Factory(cfg)},
		ResourcesPath:      cfg.Base,
	})
	h264Room, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	anyRoom, err := srv.Engine.CreateRoom(jellyfish.RoomConfig{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(room *jellyfish.Room, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/room/"+room.ID()+"/component", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testserver.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(bytes.TrimSpace(b))
	}
	errBody := func(msg string) string { b, _ := json.Marshal(map[string]string{"errors": msg}); return string(b) }
	for _, tc := range []struct {
		room   *jellyfish.Room
		body   string
		status int
		want   string
	}{
		{anyRoom, `{"type": "recording"}`, 400, errBody("Incompatible video codec enforced in room " + anyRoom.ID())},
		{h264Room, `{"type": "recording"}`, 400, errBody(msgNoCreds)},
		{h264Room, `{"type": "recording", "options": {"subscribeMode": "x"}}`, 400, errBody(msgBody)},
		{h264Room, `{"type": "recording", "options": {"credentials": {"bucket": "b"}}}`, 400, errBody(msgBody)},
	} {
		if status, body := post(tc.room, tc.body); status != tc.status || body != tc.want {
			t.Errorf("%s: %d %s, want %d %s", tc.body, status, body, tc.status, tc.want)
		}
	}
	status, body := post(h264Room, `{"type": "recording", "options": {"credentials": `+creds+`, "subscribeMode": "manual"}}`)
	var resp struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.Data.ID == "" {
		t.Fatalf("add: %d %s", status, body)
	}
	want := `{"data":{"id":"` + resp.Data.ID + `","properties":{"subscribeMode":"manual"},"tracks":[],"type":"recording"}}`
	if status != http.StatusCreated || body != want {
		t.Errorf("add:\n got %d %s\nwant 201 %s", status, body, want)
	}
	if status, body := post(h264Room, `{"type": "recording", "options": {"credentials": `+creds+`}}`); status != 400 ||
		body != errBody("Reached recording components limit for component in room "+h264Room.ID()) {
		t.Errorf("second recorder: %d %s", status, body)
	}
}
