package hls

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// TestOptions checks every validation message and the properties, as Jellyfish v0.5.0 gives
// them (the factory alone: nothing starts).
func TestOptions(t *testing.T) {
	t.Parallel()
	e, err := jellyfish.New(jellyfish.Config{Logger: testlog.New(t, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	room, err := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	factory := Factory(Config{Base: t.TempDir()})

	const bad = "Invalid request body structure"
	for _, tc := range []struct {
		options, err, props string
	}{
		{``, "", `{"lowLatency":false,"persistent":false,"playable":false,"s3":null,"subscribeMode":"auto","targetWindowDuration":null}`},
		{`{}`, "", `{"lowLatency":false,"persistent":false,"playable":false,"s3":null,"subscribeMode":"auto","targetWindowDuration":null}`},
		{`{"lowLatency": true, "persistent": true, "targetWindowDuration": 30, "subscribeMode": "manual", "unknown": 1}`, "",
			`{"lowLatency":true,"persistent":true,"playable":false,"s3":null,"subscribeMode":"manual","targetWindowDuration":30}`},
		{`{"targetWindowDuration": null, "s3": null}`, "",
			`{"lowLatency":false,"persistent":false,"playable":false,"s3":null,"subscribeMode":"auto","targetWindowDuration":null}`},
		// s3 is never shown.
		{`{"s3": {"accessKeyId": "a", "secretAccessKey": "b", "region": "c", "bucket": "d"}}`, "",
			`{"lowLatency":false,"persistent":false,"playable":false,"s3":null,"subscribeMode":"auto","targetWindowDuration":null}`},
		// Our extension shows only when asked for.
		{`{"transcode": false}`, "",
			`{"lowLatency":false,"persistent":false,"playable":false,"s3":null,"subscribeMode":"auto","targetWindowDuration":null,"transcode":false}`},
		{`{"transcode": true}`, "",
			`{"lowLatency":false,"persistent":false,"playable":false,"s3":null,"subscribeMode":"auto","targetWindowDuration":null,"transcode":true}`},
		{`{"lowLatency": "yes"}`, bad, ""},
		{`{"lowLatency": null}`, bad, ""},
		{`{"persistent": 1}`, bad, ""},
		{`{"transcode": "false"}`, bad, ""},
		{`{"targetWindowDuration": 1.5}`, bad, ""},
		{`{"targetWindowDuration": "10"}`, bad, ""},
		{`{"subscribeMode": "sometimes"}`, bad, ""},
		{`{"subscribeMode": 1}`, bad, ""},
		{`{"s3": "x"}`, bad, ""},
		{`{"s3": {"accessKeyId": "a", "secretAccessKey": "b", "region": "c"}}`, bad, ""},
		{`{"s3": {"accessKeyId": "a", "secretAccessKey": "b", "region": "c", "bucket": null}}`, bad, ""},
		{`[]`, bad, ""},
	} {
		c, err := factory(room, json.RawMessage(tc.options))
		if tc.err != "" {
			var ve *jellyfish.ValidationError
			if !errors.As(err, &ve) || ve.Msg != tc.err || ve.NotFound {
				t.Errorf("options %s: got error %v, want 400 %q", tc.options, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("options %s: %v", tc.options, err)
			continue
		}
		got, _ := json.Marshal(c.(*Component).Properties())
		if string(got) != tc.props {
			t.Errorf("options %s: properties got %s, want %s", tc.options, got, tc.props)
		}
	}

	// The room's codec (checked first), then one HLS per room.
	for _, codec := range []jellyfish.VideoCodec{jellyfish.VideoCodecAny, jellyfish.VideoCodecVP8} {
		r, err := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: codec})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := factory(r, nil); err == nil || err.Error() != "Incompatible video codec enforced in room "+r.ID() {
			t.Errorf("codec %q: got %v", codec, err)
		}
	}
	if _, err := room.StartComponent(jellyfish.ComponentHLS, &idle{}); err != nil {
		t.Fatal(err)
	}
	if _, err := factory(room, json.RawMessage(`{"lowLatency": "bad"}`)); err == nil || err.Error() != bad {
		t.Errorf("bad options in a room with HLS: got %v, want %q first", err, bad)
	}
	if _, err := factory(room, nil); err == nil || err.Error() != "Reached hls components limit for component in room "+room.ID() {
		t.Errorf("second HLS: got %v", err)
	}

	// The composite mode needs ffmpeg; transcode=false does not.
	r, err := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		t.Fatal(err)
	}
	noFFmpeg := Factory(Config{Base: t.TempDir(), FFmpeg: "/nonexistent/ffmpeg"})
	_, err = noFFmpeg(r, nil)
	var ve *jellyfish.ValidationError
	if !errors.As(err, &ve) || !strings.HasPrefix(ve.Msg, "HLS composite mode needs ffmpeg, which is not available on this server: ") ||
		!strings.HasSuffix(ve.Msg, `use "transcode": false`) {
		t.Errorf("composite without ffmpeg: got %v", err)
	}
	if _, err := noFFmpeg(r, json.RawMessage(`{"transcode": false}`)); err != nil {
		t.Errorf("transcode=false without ffmpeg: %v", err)
	}
}

// idle is a component that does nothing (an HLS stand-in for the limit check).
type idle struct{}

func (*idle) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	<-ctx.Done()
	return nil
}

func TestSegmentCount(t *testing.T) {
	window := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		o    options
		want int
	}{
		{options{}, unlimitedSegments},
		{options{window: window(60), persistent: true}, unlimitedSegments},
		{options{window: window(60)}, 10},
		{options{window: window(61)}, 11},
		{options{window: window(5)}, 3},
		{options{window: window(0)}, 3},
		{options{window: window(60), lowLatency: true}, 10},
		{options{window: window(12), lowLatency: true}, 7},
	} {
		if got := tc.o.segmentCount(defaultSegment); got != tc.want {
			t.Errorf("segmentCount(%+v): got %d, want %d", tc.o, got, tc.want)
		}
	}
}
