package integration_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// frameInterval is the pace of every source: 50 frames (and so at least 50 packets) a second.
const frameInterval = 20 * time.Millisecond

// opusFrame is a valid (silent) Opus packet; Opus payloads are forwarded as they are.
var opusFrame = []byte{0xfc, 0xff, 0xfe}

// h264Codec is the H.264 the server accepts (constrained baseline, packetization mode 1).
var h264Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}

var vp8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}

var opusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}

func codecOf(c jellyfish.VideoCodec) webrtc.RTPCodecCapability {
	if c == jellyfish.VideoCodecH264 {
		return h264Codec
	}
	return vp8Codec
}

// Frames carry their number as "#xxxxxxxx#" (8 hex digits) right after the codec header, so
// a received frame can be matched with the sent one. The tag and the filler (0xaa) contain no
// zero byte, so they never form an H.264 start code.
func frameTag(n int) []byte { return fmt.Appendf(nil, "#%08x#", n) }

// parseFrameTag finds the frame number in a frame (-1 if there is none).
func parseFrameTag(frame []byte) int {
	i := bytes.IndexByte(frame, '#')
	if i < 0 || i+10 > len(frame) || frame[i+9] != '#' {
		return -1
	}
	n, err := strconv.ParseUint(string(frame[i+1:i+9]), 16, 32)
	if err != nil {
		return -1
	}
	return int(n)
}

func pad(b []byte, size int) []byte {
	for len(b) < size {
		b = append(b, 0xaa)
	}
	return b
}

// vp8Frame builds a VP8 frame: a keyframe has a frame tag with P=0, the start code
// 9d 01 2a and a 16x16 size; an interframe a frame tag with P=1.
func vp8Frame(n int, key bool, size int) []byte {
	var b []byte
	if key {
		b = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00}
	} else {
		b = []byte{0x11, 0x02, 0x00}
	}
	return pad(append(b, frameTag(n)...), size)
}

var (
	annexB  = []byte{0x00, 0x00, 0x00, 0x01}
	h264SPS = []byte{0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40}
	h264PPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// h264Frame builds an Annex-B access unit: SPS(7) + PPS(8) + IDR(5) for a keyframe, one
// non-IDR slice(1) otherwise.
func h264Frame(n int, key bool, size int) []byte {
	var b []byte
	if key {
		b = append(b, annexB...)
		b = append(b, h264SPS...)
		b = append(b, annexB...)
		b = append(b, h264PPS...)
		b = append(b, annexB...)
		b = append(b, 0x65)
	} else {
		b = append(b, annexB...)
		b = append(b, 0x41)
	}
	return pad(append(b, frameTag(n)...), size)
}

// sentFrame is a frame a source wrote, with the RTP payloads the packetizer made of it.
type sentFrame struct {
	n        int
	key      bool
	data     []byte
	payloads [][]byte
}

// recordingPayloader wraps the payloader pion would use and hands each frame's RTP payloads
// to record before they are sent, so a test knows the exact payloads of every sent frame.
type recordingPayloader struct {
	inner  rtp.Payloader
	record func(payloads [][]byte)
}

func (r *recordingPayloader) Payload(mtu uint16, frame []byte) [][]byte {
	out := r.inner.Payload(mtu, frame)
	payloads := make([][]byte, len(out))
	for i, p := range out {
		payloads[i] = bytes.Clone(p)
	}
	r.record(payloads)
	return out
}

// source writes frames to a TrackLocalStaticSample every frameInterval until the test ends.
// Video: the first frame that is actually sent (the track is bound) is a keyframe; later ones
// are keyframes every keyEvery frames (0: never) and after every keyframe request (PLI).
type source struct {
	track    *webrtc.TrackLocalStaticSample
	mime     string
	keyEvery int
	keySize  int
	size     int

	keyReq atomic.Bool // a keyframe was requested (PLI)
	plis   atomic.Int64

	mu      sync.Mutex
	changed chan struct{}      // closed and replaced when a frame was sent or a PLI arrived
	frames  map[int]*sentFrame // sent video frames by number
	sent    int                // frames sent
	pending *sentFrame         // the frame being written, until packetized
}

type sourceOpts struct {
	keyEvery      int // keyframe period in frames; 0: only the first and on request
	keySize, size int // frame sizes in bytes (keyframes, others); default 3000 and 500
}

// newVideoSource returns a VP8 or H.264 source (not started).
func newVideoSource(t *testing.T, codec webrtc.RTPCodecCapability, o sourceOpts) *source {
	t.Helper()
	var inner rtp.Payloader = &codecs.VP8Payloader{EnablePictureID: true} // what pion uses
	if codec.MimeType == webrtc.MimeTypeH264 {
		inner = &codecs.H264Payloader{}
	}
	if o.keySize == 0 {
		o.keySize = 3000
	}
	if o.size == 0 {
		o.size = 500
	}
	return newSource(t, codec, "video", inner, o)
}

// newAudioSource returns an Opus source (not started).
func newAudioSource(t *testing.T) *source {
	t.Helper()
	return newSource(t, opusCodec, "audio", &codecs.OpusPayloader{}, sourceOpts{})
}

func newSource(t *testing.T, codec webrtc.RTPCodecCapability, id string, inner rtp.Payloader, o sourceOpts) *source {
	t.Helper()
	s, err := trySource(codec, id, inner, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trySource is newSource without t, for other goroutines.
func trySource(codec webrtc.RTPCodecCapability, id string, inner rtp.Payloader, o sourceOpts) (*source, error) {
	s := &source{mime: codec.MimeType, keyEvery: o.keyEvery, keySize: o.keySize, size: o.size,
		changed: make(chan struct{}), frames: map[int]*sentFrame{}}
	rec := &recordingPayloader{inner: inner, record: s.packetized}
	track, err := webrtc.NewTrackLocalStaticSample(codec, id, "stream-"+id,
		webrtc.WithPayloader(func(webrtc.RTPCodecCapability) (rtp.Payloader, error) { return rec, nil }))
	if err != nil {
		return nil, err
	}
	s.track = track
	return s, nil
}

// packetized records the pending frame as sent, with its payloads, before they leave.
func (s *source) packetized(payloads [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.pending
	if f == nil {
		return
	}
	s.pending = nil
	f.payloads = payloads
	if s.mime != webrtc.MimeTypeOpus {
		s.frames[f.n] = f
	}
	s.sent++
	close(s.changed)
	s.changed = make(chan struct{})
}

// start writes frames until the test's cleanup.
func (s *source) start(t *testing.T) { t.Cleanup(s.run()) }

// run writes frames until stop is called.
func (s *source) run() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(frameInterval)
		defer tick.Stop()
		for n := 0; ; {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if s.writeFrame(n) {
				n++
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// writeFrame writes frame n and reports whether it was sent (packetized: the track is bound).
func (s *source) writeFrame(n int) bool {
	var data []byte
	key, req := false, false
	switch s.mime {
	case webrtc.MimeTypeOpus:
		data = opusFrame
	default:
		req = s.keyReq.Swap(false)
		key = n == 0 || (s.keyEvery > 0 && n%s.keyEvery == 0) || req
		size := s.size
		if key {
			size = s.keySize
		}
		if s.mime == webrtc.MimeTypeH264 {
			data = h264Frame(n, key, size)
		} else {
			data = vp8Frame(n, key, size)
		}
	}
	s.mu.Lock()
	s.pending = &sentFrame{n: n, key: key, data: data}
	s.mu.Unlock()
	_ = s.track.WriteSample(media.Sample{Data: data, Duration: frameInterval})
	s.mu.Lock()
	sent := s.pending == nil // packetized took it
	s.pending = nil
	s.mu.Unlock()
	if !sent {
		if req {
			s.keyReq.Store(true)
		}
		return false // not bound yet: nothing was sent, frame n is still to come
	}
	return true
}

// requestKeyframe makes the next frame a keyframe (what an encoder does on a PLI).
func (s *source) requestKeyframe() {
	s.plis.Add(1)
	s.keyReq.Store(true)
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *source) frame(n int) *sentFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames[n]
}

func (s *source) sentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// waitUntil waits until cond (evaluated with s.mu held) is true.
func (s *source) waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("source: timed out waiting for %s (%d frames sent, %d PLIs)", what, s.sentCount(), s.plis.Load())
		}
	}
}

// isKeyframeStart reports whether an RTP payload starts a keyframe, decided independently of
// the server's rtc.IsKeyframe: VP8 with S=1, PID=0 and a frame tag with P=0; H.264 with an
// SPS or IDR NAL unit, alone, first in a STAP-A, or starting an FU-A.
func isKeyframeStart(mime string, payload []byte) bool {
	switch mime {
	case webrtc.MimeTypeVP8:
		var vp8 codecs.VP8Packet
		frame, err := vp8.Unmarshal(payload)
		return err == nil && vp8.S == 1 && vp8.PID == 0 && len(frame) > 0 && frame[0]&0x01 == 0
	case webrtc.MimeTypeH264:
		if len(payload) < 2 {
			return false
		}
		switch payload[0] & 0x1f {
		case 5, 7:
			return true
		case 24: // STAP-A: first aggregated unit after a 16-bit size
			return len(payload) > 3 && (payload[3]&0x1f == 7 || payload[3]&0x1f == 5)
		case 28: // FU-A
			return payload[1]&0x80 != 0 && (payload[1]&0x1f == 5 || payload[1]&0x1f == 7)
		}
	}
	return false
}

// depacketize rebuilds the frame carried by pkts (one frame, in order).
func depacketize(t testing.TB, mime string, pkts []*rtp.Packet) []byte {
	t.Helper()
	var frame []byte
	var h264 codecs.H264Packet // keeps FU-A fragments between packets
	for _, p := range pkts {
		var out []byte
		var err error
		if mime == webrtc.MimeTypeH264 {
			out, err = h264.Unmarshal(p.Payload)
		} else {
			var vp8 codecs.VP8Packet
			out, err = vp8.Unmarshal(p.Payload)
		}
		if err != nil {
			t.Fatalf("depacketize %s seq %d: %v", mime, p.SequenceNumber, err)
		}
		frame = append(frame, out...)
	}
	return frame
}

// firstFrame returns the packets of the frame that starts with the first packet of pkts (in
// arrival order), in sequence order: from that packet's sequence number up to the marker bit,
// every sequence number present (a packet lost on the way and repaired by a NACK arrives out
// of order), all with the first packet's timestamp. It returns nil while the frame is not
// complete.
func firstFrame(t testing.TB, pkts []*rtp.Packet) []*rtp.Packet {
	t.Helper()
	if len(pkts) == 0 {
		return nil
	}
	bySeq := map[uint16]*rtp.Packet{}
	for _, p := range pkts {
		if _, dup := bySeq[p.SequenceNumber]; !dup {
			bySeq[p.SequenceNumber] = p
		}
	}
	var frame []*rtp.Packet
	for seq := pkts[0].SequenceNumber; len(frame) < len(pkts); seq++ {
		p := bySeq[seq]
		if p == nil {
			return nil // not arrived (yet)
		}
		if p.Timestamp != pkts[0].Timestamp {
			t.Fatalf("first frame: seq %d has timestamp %d, want %d (no marker bit before it)", seq, p.Timestamp, pkts[0].Timestamp)
		}
		frame = append(frame, p)
		if p.Marker {
			return frame
		}
	}
	return nil
}

// checkFirstFrame checks that the first video packet a peer received starts a keyframe, and
// that this frame is byte for byte a keyframe src sent (frame data and RTP payloads). It
// returns the sent frame.
func checkFirstFrame(t testing.TB, p *peer, trackID string, src *source) *sentFrame {
	t.Helper()
	var first *rtp.Packet
	var pkts []*rtp.Packet
	p.waitUntil(t, "the first complete video frame", func() bool {
		tr := p.tracks[trackID]
		if tr == nil || len(tr.pkts) == 0 {
			return false
		}
		first = tr.pkts[0]
		if !isKeyframeStart(src.mime, first.Payload) {
			return true // fails below
		}
		pkts = firstFrame(t, tr.pkts)
		return pkts != nil
	})
	if !isKeyframeStart(src.mime, first.Payload) {
		t.Fatalf("%s: first video packet (seq %d) is not the start of a keyframe: % x", p.name, first.SequenceNumber, head(first.Payload))
	}
	frame := depacketize(t, src.mime, pkts)
	n := parseFrameTag(frame)
	sent := src.frame(n)
	if sent == nil {
		t.Fatalf("%s: first frame (%d bytes) carries no tag of a sent frame: % x", p.name, len(frame), head(frame))
	}
	if !sent.key {
		t.Fatalf("%s: first frame is frame %d, which was sent as an interframe", p.name, n)
	}
	if !bytes.Equal(frame, sent.data) {
		t.Fatalf("%s: frame %d differs:\n got % x\nwant % x", p.name, n, head(frame), head(sent.data))
	}
	if len(pkts) != len(sent.payloads) {
		t.Fatalf("%s: frame %d came in %d packets, was sent in %d", p.name, n, len(pkts), len(sent.payloads))
	}
	for i, pkt := range pkts {
		if !bytes.Equal(pkt.Payload, sent.payloads[i]) {
			t.Fatalf("%s: frame %d packet %d payload differs:\n got % x\nwant % x", p.name, n, i, head(pkt.Payload), head(sent.payloads[i]))
		}
	}
	return sent
}

func head(b []byte) []byte { return b[:min(len(b), 24)] }

// interceptorFactory makes one interceptor per PeerConnection.
type interceptorFactory func() interceptor.Interceptor

func (f interceptorFactory) NewInterceptor(string) (interceptor.Interceptor, error) { return f(), nil }

// pliObserver calls onPLI for every PLI (or FIR) the server sends to the client's senders:
// what the client's RTPSender RTCP readers (clientsdk drains them) read.
type pliObserver struct {
	interceptor.NoOp
	onPLI func()
}

func (o *pliObserver) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if pkts, err := rtcp.Unmarshal(b[:n]); err == nil {
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					o.onPLI()
				}
			}
		}
		return n, attr, nil
	})
}

// lossInjector drops incoming RTP packets of video streams for which drop returns true, before
// any default interceptor (the NACK generator) sees them.
type lossInjector struct {
	interceptor.NoOp
	drop func(seq uint16) bool
}

func (l *lossInjector) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !strings.HasPrefix(info.MimeType, "video/") || strings.EqualFold(info.MimeType, webrtc.MimeTypeRTX) {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			var h rtp.Header // parsed here, not through attr, which caches the header it parsed
			if _, err := h.Unmarshal(b[:n]); err == nil && l.drop(h.SequenceNumber) {
				continue
			}
			return n, attr, nil
		}
	})
}
