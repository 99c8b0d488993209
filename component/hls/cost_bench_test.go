package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/annexb"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
)

// Cost benchmark: a 1920x1080 30 fps H.264 stream (libx264 main, ~4 Mbit/s, a keyframe every
// 30 frames, no B-frames) plus Opus, published in real time into an H.264 room with an HLS
// component in composite (transcode: true) or passthrough (transcode: false) mode.
const (
	costFPS     = 30
	costSeconds = 10              // clip length (looped) and the measured window
	costWarmup  = 2 * time.Second // publisher alone before its baseline window
	costWindow  = costSeconds * time.Second
	clockTick   = 10 * time.Millisecond // USER_HZ = 100: the unit of /proc/<pid>/stat times
)

var costH264 = webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d0028"}}

// BenchmarkModeCost measures the CPU time (this process plus its ffmpeg children, user+system)
// per second of a 10 s window that starts when the HLS stream is playable, after measuring the
// publisher alone for 10 s in the same room (publisher-cpu-s/s). Run it with:
//
//	go test ./component/hls -run '^$' -bench ModeCost -benchtime 1x
//
// Metrics: cpu-s/s is the HLS-mode total (publisher, engine, HLS component and ffmpeg);
// ffmpeg-cpu-s/s its ffmpeg part (from /proc/<pid>/stat over the window); hls-cpu-s/s is cpu-s/s
// minus publisher-cpu-s/s; ffmpeg-life-cpu-s is ffmpeg's whole lifetime (RUSAGE_CHILDREN, startup
// included); media-s/s is the output's media seconds per wall second during the window (1 = real
// time); startup-s is the time from adding the component to a playable stream.
func BenchmarkModeCost(b *testing.B) {
	clip := costClip(b)
	for _, mode := range []struct {
		name      string
		transcode bool
	}{{"composite", true}, {"passthrough", false}} {
		b.Run(mode.name, func(b *testing.B) {
			var sum costResult
			for range b.N {
				r := costRun(b, clip, mode.transcode)
				sum.add(r)
			}
			n := float64(b.N)
			b.ReportMetric(sum.total/n, "cpu-s/s")
			b.ReportMetric(sum.ffmpeg/n, "ffmpeg-cpu-s/s")
			b.ReportMetric(sum.publisher/n, "publisher-cpu-s/s")
			b.ReportMetric((sum.total-sum.publisher)/n, "hls-cpu-s/s")
			b.ReportMetric(sum.ffmpegLife/n, "ffmpeg-life-cpu-s")
			b.ReportMetric(sum.mediaRate/n, "media-s/s")
			b.ReportMetric(sum.startup/n, "startup-s")
		})
	}
}

type costResult struct {
	total, ffmpeg, publisher, ffmpegLife, mediaRate, startup float64
}

func (s *costResult) add(r costResult) {
	s.total += r.total
	s.ffmpeg += r.ffmpeg
	s.publisher += r.publisher
	s.ffmpegLife += r.ffmpegLife
	s.mediaRate += r.mediaRate
	s.startup += r.startup
}

// costClip encodes 10 s of 1080p30 video and of Opus with ffmpeg in a temporary directory and
// splits them into access units and packets.
func costClip(b *testing.B) *media {
	b.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Fatalf("this benchmark needs ffmpeg and ffprobe: %v", err)
	}
	dir := b.TempDir()
	vpath, apath := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	gop := strconv.Itoa(costFPS)
	costFFmpeg(b, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1920x1080:rate=%d,noise=alls=12:allf=t", costFPS),
		"-t", strconv.Itoa(costSeconds), "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
		"-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-bf", "0",
		"-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M", "-x264-params", "aud=1",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", vpath)
	costFFmpeg(b, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(costSeconds),
		"-ac", "2", "-c:a", "libopus", "-page_duration", "20000", "-f", "ogg", apath)

	raw, err := os.ReadFile(vpath)
	if err != nil {
		b.Fatal(err)
	}
	m := &media{}
	var au [][]byte
	for _, n := range annexb.Split(raw) { // AUD-delimited access units; the AUD is dropped
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			if len(au) > 0 {
				m.video = append(m.video, au)
			}
			au = nil
			continue
		}
		au = append(au, n)
	}
	if len(au) > 0 {
		m.video = append(m.video, au)
	}
	ogg, err := os.ReadFile(apath)
	if err != nil {
		b.Fatal(err)
	}
	r, _, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		b.Fatal(err)
	}
	for {
		page, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.HasPrefix(page, []byte("OpusTags")) {
			m.opus = append(m.opus, page)
		}
	}
	packets := costSeconds * int(time.Second/opusFrame)
	m.opus = m.opus[:min(len(m.opus), packets)]
	if len(m.video) != costSeconds*costFPS || len(m.opus) != packets || !isIDR(m.video[0]) {
		b.Fatalf("clip: %d pictures, %d opus packets", len(m.video), len(m.opus))
	}
	b.Logf("clip: %d pictures, %.2f Mbit/s video, %d opus packets", len(m.video),
		float64(len(raw))*8/costSeconds/1e6, len(m.opus))
	return m
}

func costFFmpeg(b *testing.B, args ...string) {
	b.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// costRun runs one engine: the publisher alone (baseline), then with the HLS component.
func costRun(b *testing.B, clip *media, transcode bool) costResult {
	b.Helper()
	log := testlog.New(b, slog.LevelWarn)
	cfg := Config{Base: b.TempDir(), segment: testSegment, part: testPart}
	e, err := jellyfish.New(jellyfish.Config{Logger: log,
		ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{jellyfish.ComponentHLS: Factory(cfg)}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	room, err := e.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		b.Fatal(err)
	}
	defer e.DeleteRoom(room.ID())
	if _, err := room.StartComponent("publisher", &costPublisher{media: clip, fps: costFPS}); err != nil {
		b.Fatal(err)
	}
	var r costResult

	// Baseline: the publisher alone.
	time.Sleep(costWarmup)
	self0, t0 := cpuTime(syscall.RUSAGE_SELF), time.Now()
	time.Sleep(costWindow)
	r.publisher = (cpuTime(syscall.RUSAGE_SELF) - self0).Seconds() / time.Since(t0).Seconds()

	// The HLS component.
	children0 := cpuTime(syscall.RUSAGE_CHILDREN)
	added := time.Now()
	m, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentHLS,
		Options: json.RawMessage(fmt.Sprintf(`{"transcode": %v}`, transcode))})
	if err != nil {
		b.Fatal(err)
	}
	c := m.Component().(*Component)
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if status, _ := costGet(c, "index.m3u8"); status == http.StatusOK {
			break
		}
		if time.Now().After(end) {
			b.Fatal("timed out waiting for the HLS stream to become playable")
		}
	}
	r.startup = time.Since(added).Seconds()
	master := costMaster(b, c)
	videoName, audioName := master.Variants[0].URI, *master.Renditions[0].URI

	// The window: CPU of this process and of its ffmpeg children; the video playlist is polled to
	// see how much media comes out (its length when each new segment appears).
	self0, ff0, t0 := cpuTime(syscall.RUSAGE_SELF), ffmpegCPU(b), time.Now()
	type point struct {
		at     time.Time
		listed time.Duration
	}
	var points []point
	var segments int
	for time.Since(t0) < costWindow {
		pl := costMedia(b, c, videoName)
		if n := len(pl.Segments); n != segments {
			segments = n
			points = append(points, point{time.Now(), listedDuration(pl)})
		}
		time.Sleep(min(100*time.Millisecond, costWindow-time.Since(t0)))
	}
	self1, ff1, t1 := cpuTime(syscall.RUSAGE_SELF), ffmpegCPU(b), time.Now()
	window := t1.Sub(t0).Seconds()
	var ffWindow time.Duration
	for pid, cpu := range ff1 {
		before, ok := ff0[pid]
		if !ok {
			b.Fatalf("ffmpeg (re)started during the window: pids %v then %v", ff0, ff1)
		}
		ffWindow += cpu - before
	}
	if len(ff0) != len(ff1) {
		b.Fatalf("ffmpeg exited during the window: pids %v then %v", ff0, ff1)
	}
	if transcode != (len(ff1) > 0) {
		b.Fatalf("transcode=%v: %d ffmpeg children", transcode, len(ff1))
	}
	r.ffmpeg = ffWindow.Seconds() / window
	r.total = (self1-self0).Seconds()/window + r.ffmpeg
	if len(points) < 3 {
		b.Fatalf("only %d new segments in the %v window", len(points), costWindow)
	}
	first, last := points[0], points[len(points)-1]
	r.mediaRate = (last.listed - first.listed).Seconds() / last.at.Sub(first.at).Seconds()

	// What a player gets: the last segment of each playlist, with its init section.
	videoPl, audioPl := costMedia(b, c, videoName), costMedia(b, c, audioName)
	videoMP4 := append(costMustGet(b, c, videoPl.Map.URI), costMustGet(b, c, videoPl.Segments[len(videoPl.Segments)-1].URI)...)
	audioMP4 := append(costMustGet(b, c, audioPl.Map.URI), costMustGet(b, c, audioPl.Segments[len(audioPl.Segments)-1].URI)...)

	if err := room.RemoveComponent(m.ID()); err != nil {
		b.Fatal(err)
	}
	r.ffmpegLife = (cpuTime(syscall.RUSAGE_CHILDREN) - children0).Seconds()
	if left := ffmpegCPU(b); len(left) != 0 {
		b.Fatalf("ffmpeg children after the component was removed: %v", left)
	}

	// Checked after the measurements (ffprobe is a child too).
	wantAudio := "opus"
	if transcode {
		wantAudio = "aac"
	}
	v := costProbe(b, "video.mp4", videoMP4)
	if v.codec("video") != "h264" || v.Streams[0].Width != 1920 || v.Streams[0].Height != 1080 || v.duration() < time.Second {
		b.Fatalf("video segment: got %+v, want 1920x1080 H.264", v)
	}
	a := costProbe(b, "audio.mp4", audioMP4)
	if a.codec("audio") != wantAudio || a.duration() < time.Second {
		b.Fatalf("audio segment: got %+v, want %s", a, wantAudio)
	}
	b.Logf("transcode=%v: %d video segments (%v listed) after the window, last %.2f s; %d new in the window",
		transcode, len(videoPl.Segments), listedDuration(videoPl), v.duration().Seconds(), len(points))
	return r
}

// costPublisher publishes the clip in a loop at fps, paced in real time, with Opus.
type costPublisher struct {
	media *media
	fps   int
}

func (p *costPublisher) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	vt, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: costH264})
	if err != nil {
		return err
	}
	at, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeAudio, Codec: opusCodec})
	if err != nil {
		return err
	}
	enc := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1200, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return err
	}
	frameDur := time.Second / time.Duration(p.fps)
	start := time.Now()
	var vi, ai int
	var aseq uint16
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		for !start.Add(time.Duration(vi) * frameDur).After(now) {
			pkts, err := enc.Encode(p.media.video[vi%len(p.media.video)])
			if err != nil {
				return err
			}
			for _, pkt := range pkts {
				pkt.Timestamp = uint32(vi * 90000 / p.fps)
				if err := vt.WriteRTP(pkt); err != nil {
					return err
				}
			}
			vi++
		}
		for !start.Add(time.Duration(ai) * opusFrame).After(now) {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: aseq,
				Timestamp: uint32(ai * 960), SSRC: 5}, Payload: p.media.opus[ai%len(p.media.opus)]}
			if err := at.WriteRTP(pkt); err != nil {
				return err
			}
			ai++
			aseq++
		}
		next, nextAudio := start.Add(time.Duration(vi)*frameDur), start.Add(time.Duration(ai)*opusFrame)
		if nextAudio.Before(next) {
			next = nextAudio
		}
		timer.Reset(time.Until(next))
	}
}

// cpuTime is user+system CPU time of this process (RUSAGE_SELF) or of its waited-for children
// (RUSAGE_CHILDREN).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ffmpegCPU returns the user+system CPU time of each ffmpeg child of this process, by pid.
func ffmpegCPU(b *testing.B) map[int]time.Duration {
	b.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	cpu := map[int]time.Duration{}
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // gone
		}
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "ffmpeg" {
			continue
		}
		fields := strings.Fields(s[end+1:]) // from field 3 (state): ppid is 4, utime 14, stime 15
		if len(fields) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != os.Getpid() {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		utime, err1 := strconv.ParseInt(fields[11], 10, 64)
		stime, err2 := strconv.ParseInt(fields[12], 10, 64)
		if err1 != nil || err2 != nil {
			b.Fatalf("%s: %q", path, s)
		}
		cpu[pid] = time.Duration(utime+stime) * clockTick
	}
	return cpu
}

// costGet fetches a file through the component's ServeFile (no network).
func costGet(c *Component, name string) (int, []byte) {
	rec := httptest.NewRecorder()
	c.ServeFile(rec, httptest.NewRequest(http.MethodGet, "/"+name, nil), name)
	return rec.Code, rec.Body.Bytes()
}

func costMustGet(b *testing.B, c *Component, name string) []byte {
	b.Helper()
	status, body := costGet(c, name)
	if status != http.StatusOK {
		b.Fatalf("GET %s: got %d %s", name, status, body)
	}
	return body
}

func costMaster(b *testing.B, c *Component) *playlist.Multivariant {
	b.Helper()
	body := costMustGet(b, c, "index.m3u8")
	var pl playlist.Multivariant
	if err := pl.Unmarshal(body); err != nil {
		b.Fatalf("master playlist: %v\n%s", err, body)
	}
	if len(pl.Variants) != 1 || len(pl.Renditions) != 1 || pl.Renditions[0].URI == nil {
		b.Fatalf("master playlist: want one variant and one audio rendition:\n%s", body)
	}
	return &pl
}

func costMedia(b *testing.B, c *Component, name string) *playlist.Media {
	b.Helper()
	body := costMustGet(b, c, name)
	var pl playlist.Media
	if err := pl.Unmarshal(body); err != nil {
		b.Fatalf("media playlist: %v\n%s", err, body)
	}
	if pl.Map == nil || len(pl.Segments) == 0 {
		b.Fatalf("media playlist %s: want an init section and segments:\n%s", name, body)
	}
	return &pl
}

func listedDuration(pl *playlist.Media) time.Duration {
	var d time.Duration
	for _, s := range pl.Segments {
		d += s.Duration
	}
	return d
}

// costProbe runs ffprobe on data written to a file.
func costProbe(b *testing.B, name string, data []byte) probed {
	b.Helper()
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		b.Fatalf("ffprobe %s: %v", name, err)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		b.Fatal(err)
	}
	if len(p.Streams) == 0 {
		b.Fatalf("ffprobe %s: no stream", name)
	}
	return p
}
