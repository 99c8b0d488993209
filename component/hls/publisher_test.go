package hls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/annexb"
)

const (
	fixtureFPS    = 24
	fixtureWidth  = 320
	fixtureHeight = 240
	opusFrame     = 20 * time.Millisecond
)

// media is a test clip: H.264 access units (libx264 baseline, a keyframe every second, SPS
// and PPS before each) and 20 ms Opus packets, both two seconds long.
type media struct {
	video [][][]byte
	opus  [][]byte
}

// fixture makes the clip with ffmpeg once per test binary (in memory, no files).
var fixture = sync.OnceValues(func() (*media, error) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return nil, fmt.Errorf("these tests need ffmpeg (and ffprobe) on PATH: %w", err)
	}
	raw, err := exec.Command("ffmpeg", "-v", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=%d", fixtureWidth, fixtureHeight, fixtureFPS),
		"-t", "2", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
		"-g", "24", "-keyint_min", "24", "-sc_threshold", "0",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", "-").Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg (video): %w", err)
	}
	m := &media{}
	nalus := annexb.Split(raw)
	var au [][]byte
	for _, n := range nalus { // one slice per picture: a picture ends an access unit
		au = append(au, n)
		if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeIDR || typ == h264.NALUTypeNonIDR {
			m.video = append(m.video, au)
			au = nil
		}
	}
	ogg, err := exec.Command("ffmpeg", "-v", "error", "-nostdin",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-ac", "2",
		"-c:a", "libopus", "-page_duration", "20000", "-f", "ogg", "-").Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg (audio): %w", err)
	}
	r, _, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		return nil, err
	}
	for {
		page, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		m.opus = append(m.opus, page)
	}
	// Both loop every 2 s (the encoder may add a packet): the tests match them up.
	m.opus = m.opus[:min(len(m.opus), 100)]
	if len(m.video) != 2*fixtureFPS || len(m.opus) != 100 || !isIDR(m.video[0]) {
		return nil, fmt.Errorf("fixture: %d pictures, %d opus packets", len(m.video), len(m.opus))
	}
	return m, nil
})

func mustFixture(t *testing.T) *media {
	t.Helper()
	m, err := fixture()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	h264Codec = webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}
	opusCodec = webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
)

// publisher is a component that publishes the clip in a loop, paced in real time, like a
// WebRTC peer would (H.264 packetization mode 1, Opus).
type publisher struct {
	media        *media
	video, audio bool
}

func (p *publisher) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	var vt, at *jellyfish.LocalTrack
	var err error
	if p.video {
		if vt, err = m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: h264Codec}); err != nil {
			return err
		}
	}
	if p.audio {
		if at, err = m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeAudio, Codec: opusCodec}); err != nil {
			return err
		}
	}
	enc := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1200, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return err
	}
	frameDur := time.Second / fixtureFPS
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
		for vt != nil && !start.Add(time.Duration(vi)*frameDur).After(now) {
			pkts, err := enc.Encode(p.media.video[vi%len(p.media.video)])
			if err != nil {
				return err
			}
			for _, pkt := range pkts {
				pkt.Timestamp = uint32(vi * 90000 / fixtureFPS)
				if err := vt.WriteRTP(pkt); err != nil {
					return err
				}
			}
			vi++
		}
		for at != nil && !start.Add(time.Duration(ai)*opusFrame).After(now) {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: aseq,
				Timestamp: uint32(ai * 960), SSRC: 5}, Payload: p.media.opus[ai%len(p.media.opus)]}
			if err := at.WriteRTP(pkt); err != nil {
				return err
			}
			ai++
			aseq++
		}
		next := start.Add(time.Duration(vi) * frameDur)
		if at != nil && (vt == nil || start.Add(time.Duration(ai)*opusFrame).Before(next)) {
			next = start.Add(time.Duration(ai) * opusFrame)
		}
		timer.Reset(time.Until(next))
	}
}
