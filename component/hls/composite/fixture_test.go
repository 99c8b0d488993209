package composite

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// ffmpegPath returns Debian's ffmpeg, failing (not skipping) the test when it is missing.
func ffmpegPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is required (apt-get install ffmpeg): %v", err)
	}
	return p
}

func runFFmpeg(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(ffmpegPath(t), append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// media is a looped source of frames: each is one RTP timestamp step.
type media struct {
	frames  [][]byte
	step    uint32 // RTP ticks per frame
	dur     time.Duration
	codec   webrtc.RTPCodecParameters
	kind    string
	payload rtp.Payloader
}

// h264Media encodes a test pattern with libx264 (Annex-B, AUD-delimited, keyframe every second)
// and splits it into access units.
func h264Media(t testing.TB, size string, seconds int) media {
	t.Helper()
	f := filepath.Join(t.TempDir(), "v.h264")
	runFFmpeg(t, "-f", "lavfi", "-i", "testsrc=size="+size+":rate=30", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
		"-g", "30", "-bf", "0", "-x264-params", "aud=1", "-bsf:v", "h264_mp4toannexb", "-f", "h264", f)
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h264reader.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var aus [][]byte
	var cur []byte
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if nal.UnitType == h264reader.NalUnitTypeAUD {
			if len(cur) > 0 {
				aus = append(aus, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, nal.Data...)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	if len(aus) < 30 {
		t.Fatalf("got %d access units, want >= 30", len(aus))
	}
	return media{frames: aus, step: 3000, dur: time.Second / 30, kind: "video", payload: &codecs.H264Payloader{},
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}}
}

// vp8Media encodes a test pattern with libvpx into IVF and reads its frames.
func vp8Media(t testing.TB, size string, seconds int) media {
	t.Helper()
	f := filepath.Join(t.TempDir(), "v.ivf")
	runFFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-t", strconv.Itoa(seconds),
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "500k", f)
	fh, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, _, err := ivfreader.NewWith(fh)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		fr, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, fr)
	}
	return media{frames: frames, step: 3000, dur: time.Second / 30, kind: "video", payload: &codecs.VP8Payloader{},
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}}
}

// opusMedia encodes a tone with libopus, one 20 ms packet per Ogg page.
func opusMedia(t testing.TB, seconds int) media {
	t.Helper()
	f := filepath.Join(t.TempDir(), "a.ogg")
	runFFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(seconds),
		"-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-page_duration", "20000", f)
	fh, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, _, err := oggreader.NewWith(fh)
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for {
		page, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		pkts = append(pkts, page)
	}
	return media{frames: pkts, step: 960, dur: 20 * time.Millisecond, kind: "audio", payload: &codecs.OpusPayloader{},
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}}
}

// feeder plays a media source as live RTP into a compositor input, looping it, until stopped.
// A keyframe request makes it restart at the first frame (a keyframe), as a publisher would send one.
type feeder struct {
	keyframes atomic.Int64 // requests received
	restart   atomic.Bool
	stop      chan struct{}
	done      chan struct{}
}

func startFeeder(t testing.TB, m media, send func(h *rtp.Header, payload []byte)) *feeder {
	f := &feeder{stop: make(chan struct{}), done: make(chan struct{})}
	go f.run(m, send)
	t.Cleanup(f.Stop)
	return f
}

func (f *feeder) run(m media, send func(h *rtp.Header, payload []byte)) {
	defer close(f.done)
	p := rtp.NewPacketizer(1200, 100, 0x1234, m.payload, rtp.NewRandomSequencer(), m.codec.ClockRate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i, n := 0, 0; ; n++ {
		if f.restart.Swap(false) {
			i = 0
		}
		for _, pkt := range p.Packetize(m.frames[i], m.step) {
			send(&pkt.Header, pkt.Payload)
		}
		i = (i + 1) % len(m.frames)
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * m.dur)))
		select {
		case <-f.stop:
			return
		case <-timer.C:
		}
	}
}

func (f *feeder) RequestKeyframe() {
	f.keyframes.Add(1)
	f.restart.Store(true)
}

// Stop ends the feed and waits for it; idempotent.
func (f *feeder) Stop() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

// keyframeRouter dispatches OnKeyframeNeeded to the feeders by track ID.
type keyframeRouter struct {
	mu sync.Mutex
	by map[string]*feeder
}

func (k *keyframeRouter) set(id string, f *feeder) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.by == nil {
		k.by = map[string]*feeder{}
	}
	k.by[id] = f
}

func (k *keyframeRouter) request(id string) {
	k.mu.Lock()
	f := k.by[id]
	k.mu.Unlock()
	if f != nil {
		f.RequestKeyframe()
	}
}

func h264Media0() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "profile-level-id=42e01f;packetization-mode=0"}}
}

func opusCodec0() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
}
