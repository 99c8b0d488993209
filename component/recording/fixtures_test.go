package recording_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/annexb"
)

// Media of the fixtures: 2 s of 320x240 H.264 at 30 fps (an IDR every 30 frames, parameter sets
// before each, no B-frames: what WebRTC sends) and 2 s of 20 ms Opus packets.
const (
	fixtureFrames  = 60
	fixturePackets = 100
)

// fixtureDir holds the fixtures of the test binary; TestMain removes it.
var (
	fixtureDir  string
	fixtureOnce sync.Once
	fixtureErr  error
	fixtureV    [][][]byte // access units, without delimiters
	fixtureA    [][]byte   // Opus packets
)

// fixtures returns the video access units and the Opus packets, made by ffmpeg once per test
// binary. Without ffmpeg the test fails: CI installs it.
func fixtures(t testing.TB) ([][][]byte, [][]byte) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "recording-fixtures-")
		if fixtureErr != nil {
			return
		}
		fixtureV, fixtureA, fixtureErr = makeFixtures(fixtureDir)
	})
	if fixtureErr != nil {
		t.Fatalf("fixtures (made with /usr/bin/ffmpeg, which the tests need): %v", fixtureErr)
	}
	return fixtureV, fixtureA
}

func makeFixtures(dir string) ([][][]byte, [][]byte, error) {
	video, audio := filepath.Join(dir, "video.h264"), filepath.Join(dir, "audio.ogg")
	if err := runFFmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-bf", "0",
		"-x264-params", "keyint=30:min-keyint=30:scenecut=0:repeat-headers=1:aud=1",
		"-f", "h264", video); err != nil {
		return nil, nil, err
	}
	if err := runFFmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-ac", "2",
		"-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", audio); err != nil {
		return nil, nil, err
	}
	aus, err := readH264(video)
	if err != nil {
		return nil, nil, err
	}
	pkts, err := readOpus(audio)
	if err != nil {
		return nil, nil, err
	}
	// libopus adds a packet for its pre-skip: keep 2 s.
	if len(aus) != fixtureFrames || len(pkts) < fixturePackets {
		return nil, nil, fmt.Errorf("fixtures have %d frames and %d packets, want %d and %d", len(aus), len(pkts), fixtureFrames, fixturePackets)
	}
	return aus, pkts[:fixturePackets], nil
}

func runFFmpeg(args ...string) error {
	cmd := exec.Command("/usr/bin/ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// readH264 splits an Annex-B stream with access unit delimiters into access units.
func readH264(path string) ([][][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var aus [][][]byte
	for _, n := range annexb.Split(b) {
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			aus = append(aus, nil)
			continue
		}
		if len(aus) == 0 {
			return nil, errors.New("stream does not start with an access unit delimiter")
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], n)
	}
	return aus, nil
}

// readOpus returns the Opus packets of an Ogg file written with one packet per page.
func readOpus(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	var pkts [][]byte
	for {
		payload, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return pkts, nil
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(payload, []byte("OpusTags")) {
			continue
		}
		if d := opus.PacketDuration2(payload); d != 960 {
			return nil, fmt.Errorf("ogg page holds %d samples, want one 20 ms packet", d)
		}
		pkts = append(pkts, payload)
	}
}

var (
	h264Codec = webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}
	opusCodec = webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
)

// source is a Go component that publishes the fixtures as RTP, paced at twice real time (the
// recorded durations come from the RTP timestamps, not from the pace).
type source struct {
	video  [][][]byte // nil: no video track
	audio  [][]byte   // nil: no audio track
	pause  int        // pause after this many video frames (and audio up to the same time); 0: never
	finish bool       // return once everything was sent (its tracks end) instead of waiting for ctx

	paused chan struct{} // closed at the pause
	resume chan struct{} // closed by the test to go on
	done   chan struct{} // closed once everything was sent
}

func newSource(video [][][]byte, audio [][]byte) *source {
	return &source{video: video, audio: audio, paused: make(chan struct{}), resume: make(chan struct{}), done: make(chan struct{})}
}

func (s *source) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	var vt, at *jellyfish.LocalTrack
	var err error
	if s.video != nil {
		if vt, err = m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: h264Codec, Metadata: json.RawMessage(`{"name":"camera"}`)}); err != nil {
			return err
		}
	}
	if s.audio != nil {
		if at, err = m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeAudio, Codec: opusCodec}); err != nil {
			return err
		}
	}
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 1200}
	if err := enc.Init(); err != nil {
		return err
	}
	const speed = 2
	start := time.Now()
	v, a, seq := 0, 0, uint16(1000)
	for v < len(s.video) || a < len(s.audio) {
		if s.pause > 0 && v == s.pause && (a >= len(s.audio) || a*960*30 >= v*48000) {
			close(s.paused)
			select {
			case <-s.resume:
			case <-ctx.Done():
				return nil
			}
			start = time.Now().Add(-time.Duration(v) * time.Second / 30 / speed)
			s.pause = 0
		}
		// The next packet in media time: video frame v at v/30 s, audio packet a at a/50 s.
		videoNext := v < len(s.video) && (a >= len(s.audio) || v*50 <= a*30)
		var at0 time.Duration
		if videoNext {
			at0 = time.Duration(v) * time.Second / 30
		} else {
			at0 = time.Duration(a) * time.Second / 50
		}
		if d := time.Until(start.Add(at0 / speed)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil
			}
		}
		if videoNext {
			pkts, err := enc.Encode(s.video[v])
			if err != nil {
				return err
			}
			for _, p := range pkts {
				p.Timestamp = 12345 + uint32(v)*3000
				if err := vt.WriteRTP(p); err != nil {
					return err
				}
			}
			v++
		} else {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: 777 + uint32(a)*960, SSRC: 42}, Payload: s.audio[a]}
			seq++
			if err := at.WriteRTP(p); err != nil {
				return err
			}
			a++
		}
	}
	close(s.done)
	if s.finish {
		return nil
	}
	<-ctx.Done()
	return nil
}
