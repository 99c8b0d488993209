package builtin_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/builtin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFactories: every built-in kind is wired with the configuration it needs; SIP is not.
func TestFactories(t *testing.T) {
	prefix := "p"
	f := builtin.Factories(builtin.Config{ResourcesPath: t.TempDir(), RecordingDisabled: true, S3PathPrefix: &prefix})
	e, err := jellyfish.New(jellyfish.Config{Logger: slog.New(slog.DiscardHandler), ComponentFactories: f})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	h264, _ := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	vp8, _ := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecVP8})
	tests := []struct {
		room     *jellyfish.Room
		typ      jellyfish.ComponentType
		options  string
		msg      string
		notFound bool
	}{
		{h264, jellyfish.ComponentFile, `{"filePath":"missing.h264"}`, "File not found", true},
		{vp8, jellyfish.ComponentRTSP, `{"sourceUri":"rtsp://127.0.0.1:1/x"}`, "Incompatible video codec enforced in room " + vp8.ID(), false},
		{vp8, jellyfish.ComponentHLS, `{}`, "Incompatible video codec enforced in room " + vp8.ID(), false},
		{h264, jellyfish.ComponentRecording, `{}`, "", false}, // disabled: our message
	}
	for _, tc := range tests {
		_, err := tc.room.AddComponent(jellyfish.ComponentOptions{Type: tc.typ, Options: json.RawMessage(tc.options)})
		var verr *jellyfish.ValidationError
		if !errors.As(err, &verr) || (tc.msg != "" && verr.Msg != tc.msg) || verr.NotFound != tc.notFound {
			t.Errorf("%s: got %v, want %q (not found: %v)", tc.typ, err, tc.msg, tc.notFound)
		}
	}
	if _, err := h264.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentSIP}); !errors.Is(err, jellyfish.ErrUnsupportedComponentType) {
		t.Errorf("sip: got %v, want ErrUnsupportedComponentType", err)
	}
}
