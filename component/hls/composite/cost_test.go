package composite

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// BenchmarkCost measures ffmpeg's CPU time (user+system) per second of 1080p24 output with 1 and
// 4 live 640x360@30 H.264 inputs plus one Opus input, over about 10 s each:
//
//	go test ./component/hls/composite -run '^$' -bench Cost -benchtime 1x
func BenchmarkCost(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("videos=%d", n), func(b *testing.B) {
			src, opus := h264Media(b, "640x360", 4), opusMedia(b, 4)
			for range b.N {
				cpu, video, skew := costRun(b, n, src, opus, 10*time.Second)
				b.ReportMetric(cpu.Seconds()/video.Seconds(), "cpu-s/s")
				b.ReportMetric(video.Seconds(), "video-s")
				b.ReportMetric(skew.Seconds(), "audio-ahead-s")
			}
		})
	}
}

// costRun returns ffmpeg's CPU time, the video produced and how far the audio got ahead of it.
func costRun(b *testing.B, videos int, src, opus media, d time.Duration) (cpu, video, skew time.Duration) {
	var kf keyframeRouter
	c := New(Config{FFmpeg: ffmpegPath(b), Logger: testlog.New(b, slog.LevelWarn), OnKeyframeNeeded: kf.request})
	rec := &recorder{}
	stop := startRun(b, c, rec)
	var feeders []*feeder
	feeders = append(feeders, startFeeder(b, opus, c.AddTrack("a", "audio", opus.codec)))
	for i := range videos {
		id := fmt.Sprintf("v%d", i)
		f := startFeeder(b, src, c.AddTrack(id, "video", src.codec))
		kf.set(id, f)
		feeders = append(feeders, f)
	}
	waitFor(b, 60*time.Second, "output", func() bool { return rec.lastVideoPTS() >= d })
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	for _, f := range feeders {
		f.Stop()
	}
	if n := c.stats.runs.Load(); n != 1 {
		b.Fatalf("ffmpeg started %d times, want 1", n)
	}
	v, a := rec.snapshot()
	last := v[len(v)-1].pts
	return c.stats.cpu, last, a[len(a)-1] - last
}
