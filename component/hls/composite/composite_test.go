package composite

import (
	"context"
	"errors"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// alive reports whether a process with this pid exists (a reaped child does not).
func alive(pid int) bool {
	return pid > 0 && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// startRun runs c in the background; the returned stop cancels it and returns Run's error.
func startRun(t testing.TB, c *Compositor, out Output) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx, out) }()
	var res error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case res = <-errc:
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return within 15 s of ctx cancel")
			}
		}
		return res
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestComposite1080p is the end-to-end case: real H.264 and Opus RTP in, 1080p H.264 + AAC out;
// a second (VP8) video mid-way restarts ffmpeg without breaking the output timeline; ffmpeg is
// gone after ctx ends.
func TestComposite1080p(t *testing.T) {
	log := testlog.New(t, slog.LevelDebug)
	ff := ffmpegPath(t)
	h264src, vp8src, opussrc := h264Media(t, "320x240", 3), vp8Media(t, "320x180", 3), opusMedia(t, 3)

	var kf keyframeRouter
	c := New(Config{FFmpeg: ff, Logger: log, OnKeyframeNeeded: kf.request})
	rec := &recorder{}
	stop := startRun(t, c, rec)

	fa := startFeeder(t, opussrc, c.AddTrack("audio1", "audio", opussrc.codec))
	fv := startFeeder(t, h264src, c.AddTrack("video1", "video", h264src.codec))
	kf.set("video1", fv)

	waitFor(t, 40*time.Second, "2 s of composited video", func() bool { return rec.lastVideoPTS() >= 2*time.Second })
	video, audio := rec.snapshot()
	if !video[0].idr || video[0].sps == nil {
		t.Fatalf("first AU: idr=%v sps=%v, want an IDR carrying SPS", video[0].idr, video[0].sps != nil)
	}
	if w, h := video[0].sps.Width(), video[0].sps.Height(); w != 1920 || h != 1080 {
		t.Fatalf("SPS size %dx%d, want 1920x1080", w, h)
	}
	if fps := video[0].sps.FPS(); fps != 0 && fps != 24 {
		t.Errorf("SPS frame rate %v, want 24", fps)
	}
	if len(audio) == 0 {
		t.Fatal("no AAC access units")
	}
	if fv.keyframes.Load() == 0 {
		t.Error("OnKeyframeNeeded never called for the video input")
	}
	firstPID := int(c.stats.pid.Load())
	if c.stats.runs.Load() != 1 {
		t.Fatalf("ffmpeg started %d times before the layout change, want 1", c.stats.runs.Load())
	}

	// Layout change: a VP8 video joins.
	before := rec.lastVideoPTS()
	fv2 := startFeeder(t, vp8src, c.AddTrack("video2", "video", vp8src.codec))
	kf.set("video2", fv2)
	waitFor(t, 30*time.Second, "ffmpeg restarted with the second video", func() bool { return c.stats.runs.Load() >= 2 })
	waitFor(t, 40*time.Second, "2 s of video after the restart", func() bool { return rec.lastVideoPTS() >= before+3*time.Second })
	if alive(firstPID) {
		t.Errorf("first ffmpeg (pid %d) still exists after the restart", firstPID)
	}
	if fv2.keyframes.Load() == 0 {
		t.Error("OnKeyframeNeeded never called for the VP8 input")
	}

	secondPID := int(c.stats.pid.Load())
	if !alive(secondPID) {
		t.Fatalf("second ffmpeg (pid %d) is not running", secondPID)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after ctx cancel, want nil", err)
	}
	if alive(secondPID) {
		t.Fatalf("ffmpeg (pid %d) outlived Run", secondPID)
	}
	fa.Stop()
	fv.Stop()
	fv2.Stop()

	video, audio = rec.snapshot()
	vpts := make([]time.Duration, len(video))
	idrs := 0
	for i, v := range video {
		vpts[i] = v.pts
		if v.idr {
			idrs++
			if v.sps == nil {
				t.Errorf("IDR at %v without SPS", v.pts)
			}
		}
	}
	// 24 fps is 41.7 ms a frame; a restart may add a frame or two of slack, never a hole.
	checkContinuous(t, "video", vpts, 300*time.Millisecond)
	checkContinuous(t, "audio", audio, 300*time.Millisecond)
	if idrs < 2 {
		t.Errorf("got %d IDRs, want >= 2 (one per run at least)", idrs)
	}
	t.Logf("video AUs %d (%v..%v), audio AUs %d (%v..%v), IDRs %d, ffmpeg runs %d, ffmpeg CPU %v",
		len(video), vpts[0], vpts[len(vpts)-1], len(audio), audio[0], audio[len(audio)-1], idrs, c.stats.runs.Load(), c.stats.cpu)
	if skew := (audio[len(audio)-1] - vpts[len(vpts)-1]).Abs(); skew > time.Second {
		t.Errorf("audio and video ends %v apart, want within 1 s", skew)
	}
}
