package composite

import (
	"bytes"
	"context"
	"errors"
	"github.com/pion/rtp/codecs"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/internal/testlog"
	"github.com/pion/webrtc/v4"
)

// TestAudioOnlyCanvasAndIdle: with only Opus inputs (two, mixed) the output is a black canvas of
// the configured size plus AAC; removing the last input stops ffmpeg while Run goes on, and a new
// input starts it again with the timeline continuing.
func TestAudioOnlyCanvasAndIdle(t *testing.T) {
	log := testlog.New(t, slog.LevelDebug)
	opussrc := opusMedia(t, 2)
	c := New(Config{FFmpeg: ffmpegPath(t), Logger: log, Width: 320, Height: 240, FPS: 24})
	rec := &recorder{}
	stop := startRun(t, c, rec)

	fa := startFeeder(t, opussrc, c.AddTrack("a", "audio", opussrc.codec))
	fa1 := startFeeder(t, opussrc, c.AddTrack("a1", "audio", opussrc.codec))
	waitFor(t, 30*time.Second, "1 s of canvas video", func() bool { return rec.lastVideoPTS() >= time.Second })
	video, audio := rec.snapshot()
	if video[0].sps == nil || video[0].sps.Width() != 320 || video[0].sps.Height() != 240 {
		t.Fatalf("first AU SPS %+v, want 320x240", video[0].sps)
	}
	if len(audio) == 0 {
		t.Fatal("no AAC from the Opus input")
	}

	pid := int(c.stats.pid.Load())
	if n := c.stats.runs.Load(); n != 1 {
		t.Fatalf("ffmpeg started %d times for two audio inputs, want 1", n)
	}
	c.RemoveTrack("a")
	c.RemoveTrack("a1")
	fa.Stop()
	fa1.Stop()
	waitFor(t, 10*time.Second, "ffmpeg to stop with no input", func() bool { return !alive(pid) })
	idleAt := rec.lastVideoPTS()

	fa2 := startFeeder(t, opussrc, c.AddTrack("b", "audio", opussrc.codec))
	waitFor(t, 30*time.Second, "output again after a new input", func() bool { return rec.lastVideoPTS() >= idleAt+time.Second })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	fa2.Stop()
	if n := c.stats.runs.Load(); n != 2 {
		t.Errorf("ffmpeg started %d times, want 2", n)
	}
	video, audio = rec.snapshot()
	vpts := make([]time.Duration, len(video))
	for i, v := range video {
		vpts[i] = v.pts
	}
	checkContinuous(t, "video", vpts, 300*time.Millisecond)
	checkContinuous(t, "audio", audio, 300*time.Millisecond)
}

// TestRestartAfterCrash: ffmpeg killed from outside is restarted and the output continues.
// An input that goes quiet (a muted camera) leaves the layout instead of freezing the picture.
func TestRestartAfterCrashAndQuietInput(t *testing.T) {
	log := testlog.New(t, slog.LevelDebug)
	h264src, opussrc := h264Media(t, "320x240", 2), opusMedia(t, 2)
	var kf keyframeRouter
	c := New(Config{FFmpeg: ffmpegPath(t), Logger: log, Width: 640, Height: 360, OnKeyframeNeeded: kf.request})
	c.backoff = 50 * time.Millisecond
	rec := &recorder{}
	stop := startRun(t, c, rec)
	fa := startFeeder(t, opussrc, c.AddTrack("a", "audio", opussrc.codec))
	fv := startFeeder(t, h264src, c.AddTrack("v", "video", h264src.codec))
	kf.set("v", fv)
	waitFor(t, 30*time.Second, "1 s of video", func() bool { return rec.lastVideoPTS() >= time.Second })

	pid := int(c.stats.pid.Load())
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := rec.lastVideoPTS()
	waitFor(t, 30*time.Second, "output after the crash", func() bool { return rec.lastVideoPTS() >= killedAt+time.Second })
	if n := c.stats.runs.Load(); n != 2 {
		t.Fatalf("ffmpeg started %d times, want 2", n)
	}

	fv.Stop() // the camera goes quiet; its track stays
	quietAt := rec.lastVideoPTS()
	waitFor(t, 30*time.Second, "restart without the quiet video", func() bool { return c.stats.runs.Load() >= 3 })
	waitFor(t, 30*time.Second, "output continuing without the quiet video",
		func() bool { return rec.lastVideoPTS() >= quietAt+time.Second })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	fa.Stop()
	video, audio := rec.snapshot()
	vpts := make([]time.Duration, len(video))
	for i, v := range video {
		vpts[i] = v.pts
	}
	// A crash loses what ffmpeg had not flushed, but the timeline has no hole. While the quiet
	// video is still in the layout ffmpeg waits for it: the picture freezes (one long frame) as
	// the sound goes on, until the input leaves the layout.
	checkContinuous(t, "audio", audio, 300*time.Millisecond)
	checkContinuous(t, "video", vpts, inactiveAfter+3*time.Second)
	long := 0
	for i := 1; i < len(vpts); i++ {
		if vpts[i]-vpts[i-1] > 300*time.Millisecond {
			long++
			if vpts[i-1] < quietAt-time.Second {
				t.Errorf("video hole %v..%v before the input went quiet (at %v)", vpts[i-1], vpts[i], quietAt)
			}
		}
	}
	if long > 1 {
		t.Errorf("%d video holes, want at most the one of the quiet input", long)
	}
}

func TestRunFailsWithoutFFmpeg(t *testing.T) {
	opussrc := opusMedia(t, 1)
	c := New(Config{FFmpeg: "/nonexistent/ffmpeg", Logger: testlog.New(t, slog.LevelDebug)})
	send := c.AddTrack("a", "audio", opussrc.codec)
	f := startFeeder(t, opussrc, send)
	defer f.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.Run(ctx, &recorder{})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run = %v (ctx %v), want an error before the deadline", err, ctx.Err())
	}
}

func TestRunGivesUp(t *testing.T) {
	opussrc := opusMedia(t, 1)
	c := New(Config{FFmpeg: "/bin/false", Logger: testlog.New(t, slog.LevelDebug)})
	c.backoff = 10 * time.Millisecond
	f := startFeeder(t, opussrc, c.AddTrack("a", "audio", opussrc.codec))
	defer f.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.Run(ctx, &recorder{})
	if !errors.Is(err, errGaveUp) {
		t.Fatalf("Run = %v, want errGaveUp", err)
	}
	if n := c.stats.runs.Load(); n != maxFailures {
		t.Errorf("ffmpeg started %d times, want %d", n, maxFailures)
	}
}

func TestAvailable(t *testing.T) {
	if err := Available("/nonexistent/ffmpeg"); err == nil {
		t.Error("Available(/nonexistent/ffmpeg) = nil, want an error")
	}
	if err := Available("/bin/true"); err == nil || !strings.Contains(err.Error(), "libx264") {
		t.Errorf("Available(/bin/true) = %v, want a missing libx264 error", err)
	}
	if err := Available(ffmpegPath(t)); err != nil {
		t.Errorf("Available(ffmpeg) = %v, want nil", err)
	}
}

func TestAddTrackDeclines(t *testing.T) {
	c := New(Config{})
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
	for _, tc := range []struct {
		name, kind string
		codec      webrtc.RTPCodecParameters
	}{
		{"h265", "video", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000}}},
		{"opus as video", "video", opus},
		{"pcmu", "audio", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}},
	} {
		if c.AddTrack(tc.name, tc.kind, tc.codec) != nil {
			t.Errorf("AddTrack(%s) accepted an unsupported track", tc.name)
		}
	}
	if c.AddTrack("a", "audio", opus) == nil {
		t.Fatal("AddTrack(opus) declined")
	}
	if c.AddTrack("a", "audio", opus) != nil {
		t.Error("AddTrack accepted a duplicate ID")
	}
	c.RemoveTrack("a")
	c.RemoveTrack("unknown")
	if c.AddTrack("a", "audio", opus) == nil {
		t.Error("AddTrack declined an ID that was removed")
	}
}

// TestStalledFFmpegIsRestarted: a video input that never decodes (no SPS, garbage slices) keeps
// ffmpeg from producing anything; the watchdog restarts it instead of waiting forever, and Run
// does not count that as ffmpeg failing.
func TestStalledFFmpegIsRestarted(t *testing.T) {
	opussrc := opusMedia(t, 1)
	c := New(Config{FFmpeg: ffmpegPath(t), Logger: testlog.New(t, slog.LevelDebug), Width: 320, Height: 240})
	c.stallAfter, c.backoff = 2*time.Second, 50*time.Millisecond
	rec := &recorder{}
	stop := startRun(t, c, rec)
	garbage := media{frames: [][]byte{append([]byte{0x41}, bytes.Repeat([]byte{0x9a, 0x17, 0x3c}, 300)...)},
		step: 3000, dur: time.Second / 30, kind: "video", payload: &codecs.H264Payloader{}, codec: h264Media0()}
	fa := startFeeder(t, opussrc, c.AddTrack("a", "audio", opussrc.codec))
	fv := startFeeder(t, garbage, c.AddTrack("v", "video", garbage.codec))
	waitFor(t, 40*time.Second, "a third ffmpeg start", func() bool { return c.stats.runs.Load() >= 3 })
	pid := int(c.stats.pid.Load())
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil (stalls are not failures)", err)
	}
	fa.Stop()
	fv.Stop()
	if alive(pid) {
		t.Errorf("ffmpeg (pid %d) outlived Run", pid)
	}
	if v, _ := rec.snapshot(); len(v) != 0 {
		t.Errorf("got %d video AUs from an undecodable input, want 0", len(v))
	}
}
