package composite

import (
	"strings"
	"testing"
	"time"
)

func TestGrid(t *testing.T) {
	for n, want := range map[int][2]int{0: {0, 0}, 1: {1, 1}, 2: {2, 1}, 3: {2, 2}, 4: {2, 2}, 5: {3, 2}, 9: {3, 3}, 10: {4, 3}} {
		if c, r := grid(n); c != want[0] || r != want[1] {
			t.Errorf("grid(%d) = %dx%d, want %dx%d", n, c, r, want[0], want[1])
		}
	}
}

func TestSDP(t *testing.T) {
	h264, _ := encodingOf("video", h264Media0())
	opus, _ := encodingOf("audio", opusCodec0())
	got := sdp([]slot{{enc: h264, port: 40000}, {enc: opus, port: 40002}})
	for _, want := range []string{
		"c=IN IP4 127.0.0.1\r\n",
		"m=video 40000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n",
		"m=audio 40002 RTP/AVP 97\r\na=rtpmap:97 opus/48000/2\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("SDP lacks %q:\n%s", want, got)
		}
	}
}

func TestFilterGraph(t *testing.T) {
	cfg := New(Config{}).cfg
	v, _ := encodingOf("video", h264Media0())
	a, _ := encodingOf("audio", opusCodec0())
	for _, tc := range []struct {
		name  string
		slots []slot
		want  []string
	}{
		{"audio only", []slot{{enc: a}}, []string{"color=c=black:s=1920x1080:r=24,format=yuv420p[v]", "[0:0]aresample"}},
		{"video only", []slot{{enc: v}}, []string{"[0:0]scale=w=1920:h=1080", "anullsrc=r=48000:cl=stereo"}},
		{"3 videos 2 audios", []slot{{enc: v}, {enc: a}, {enc: v}, {enc: v}, {enc: a}},
			[]string{"[0:0]scale=w=960:h=540", "[0:2]scale=w=960:h=540", "[0:3]scale=w=960:h=540",
				"x=0+(960-overlay_w)/2:y=540+(540-overlay_h)/2", "amix=inputs=2", "[0:1]aresample", "[0:4]aresample"}},
	} {
		g := filterGraph(cfg, tc.slots)
		for _, w := range tc.want {
			if !strings.Contains(g, w) {
				t.Errorf("%s: graph lacks %q:\n%s", tc.name, w, g)
			}
		}
	}
}

func TestTimelineContinuesAcrossRuns(t *testing.T) {
	tl := &timeline{fps: 25}
	tl.startRun()
	const base = 1<<33 - 90000 // wraps during the run
	if p, _ := tl.audio(base, 1); p != 0 {
		t.Fatalf("first pts %v, want 0", p)
	}
	if p, _ := tl.video(base + 1800); p != 20*time.Millisecond {
		t.Fatalf("video pts %v, want 20ms", p)
	}
	if p, _ := tl.video((base + 1800 + 2*90000) & (1<<33 - 1)); p != 2020*time.Millisecond {
		t.Fatalf("video pts across the 33-bit wrap %v, want 2.02s", p)
	}
	tl.startRun() // a new ffmpeg: its timestamps start anywhere
	p, ok := tl.video(5000)
	if !ok || p != 2060*time.Millisecond {
		t.Fatalf("next run's first video pts %v ok=%v, want 2.06s (last + one frame)", p, ok)
	}
	if _, ok := tl.video(5000 - 900); ok {
		t.Error("a video pts before the last one was not dropped")
	}
}
