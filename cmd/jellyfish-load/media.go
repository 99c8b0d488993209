package main

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Every payload a publisher sends ends with a trailer that subscribers use to measure
// forwarding latency and end-to-end loss (including packets the server dropped on purpose,
// which the server's sequence-number rewriting hides from RTP sequence gaps). It sits at the end
// of the payload, so the codec headers at the start (the VP8 payload descriptor and frame tag that
// rtc.IsKeyframe looks at, the Opus TOC byte) are untouched:
//
//	index   uint32 (big endian): per published track, +1 per packet
//	sent    int64  (big endian): time.Now().UnixNano() when the packet was written
//	magic   "jfld"
const (
	trailerLen   = 16
	trailerMagic = "jfld"
)

// putTrailer writes the trailer into the last trailerLen bytes of p.
func putTrailer(p []byte, index uint32, sent int64) {
	t := p[len(p)-trailerLen:]
	binary.BigEndian.PutUint32(t[0:4], index)
	binary.BigEndian.PutUint64(t[4:12], uint64(sent))
	copy(t[12:16], trailerMagic)
}

// parseTrailer reads the trailer at the end of payload p.
func parseTrailer(p []byte) (index uint32, sent int64, ok bool) {
	if len(p) < trailerLen {
		return 0, 0, false
	}
	t := p[len(p)-trailerLen:]
	if string(t[12:16]) != trailerMagic { // no allocation: the compiler compares in place
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(t[0:4]), int64(binary.BigEndian.Uint64(t[4:12])), true
}

// rtpWriter is what a source writes to: *webrtc.TrackLocalStaticRTP in the tool, a fake in
// tests.
type rtpWriter interface {
	WriteRTP(p *rtp.Packet) error
}

// sendStats counts what a source wrote (payload bytes, the codec's bitrate).
type sendStats struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	errors  atomic.Uint64
}

func (s *sendStats) add(n int, err error) {
	if err != nil {
		s.errors.Add(1)
		return
	}
	s.packets.Add(1)
	s.bytes.Add(uint64(n))
}

// Packetization of the synthetic VP8 stream.
const (
	maxRTPPayload = 1200 // like libwebrtc's default: a packet stays well under a 1500-byte MTU
	vp8DescLen    = 4    // X=1, I=1 with a 15-bit picture id (M=1), as browsers send
	// keyframeRatio is how much larger a keyframe is than an average delta frame; real
	// encoders at 720p land between 5 and 15.
	keyframeRatio = 8
	videoWidth    = 1280
	videoHeight   = 720
)

// filler is the "compressed data" of every synthetic frame: pseudo-random bytes made once, so
// sources copy instead of generating per frame.
var filler = func() []byte {
	b := make([]byte, 256<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// vp8Source produces a VP8 stream at a target bitrate: a keyframe every keyframeEvery frames
// (keyframeRatio times the average delta frame), delta frames varying ±25%, each frame split
// into RTP packets of at most maxRTPPayload bytes with an RFC 7741 payload descriptor. It is
// not safe for concurrent use: one goroutine calls frame.
type vp8Source struct {
	w     rtpWriter
	stats *sendStats
	rng   *rand.Rand

	deltaSize, keySize int
	keyframeEvery      int
	tsStep             uint32

	frameNo   int
	pictureID uint16
	index     uint32
	pkt       rtp.Packet
	frameBuf  []byte // the current frame, reused
	payload   []byte // one packet's payload, reused
}

// newVP8Source returns a source of bitrate bit/s at fps frames per second with a keyframe
// every keyframeInterval.
func newVP8Source(w rtpWriter, stats *sendStats, bitrate, fps int, keyframeInterval time.Duration, seed uint64) *vp8Source {
	every := max(1, int(keyframeInterval.Seconds()*float64(fps)+0.5))
	// Over one keyframe interval: (every-1) delta frames + 1 keyframe = bitrate * interval.
	total := float64(bitrate) / 8 * float64(every) / float64(fps)
	delta := max(64, int(total/float64(every-1+keyframeRatio)))
	s := &vp8Source{
		w: w, stats: stats, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		deltaSize: delta, keySize: delta * keyframeRatio, keyframeEvery: every,
		tsStep:  uint32(90000 / fps),
		payload: make([]byte, maxRTPPayload),
	}
	s.pictureID = uint16(s.rng.Uint32() & 0x7fff)
	s.pkt.Version = 2
	s.pkt.SequenceNumber = uint16(s.rng.Uint32())
	s.pkt.Timestamp = s.rng.Uint32()
	return s
}

// buildFrame fills s.frame with a VP8 frame of size bytes: the frame tag (RFC 6386 9.1: frame
// type, version 0, show_frame 1, first partition size), for a keyframe the start code and the
// dimensions, then filler.
func (s *vp8Source) buildFrame(key bool, size int) []byte {
	if cap(s.frameBuf) < size {
		s.frameBuf = make([]byte, size)
	}
	f := s.frameBuf[:size]
	firstPart := uint32(min(size/4, 1<<19-1))
	tag := 1<<4 | firstPart<<5 // show_frame, size
	if !key {
		tag |= 1 // inter frame
	}
	f[0], f[1], f[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	hdr := 3
	if key {
		f[3], f[4], f[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(f[6:8], videoWidth)
		binary.LittleEndian.PutUint16(f[8:10], videoHeight)
		hdr = 10
	}
	for off := hdr; off < size; {
		off += copy(f[off:], filler[(s.frameNo*7919+off)%(len(filler)-maxRTPPayload):][:min(size-off, maxRTPPayload)])
	}
	return f
}

// frame writes the next frame's packets and reports whether it was a keyframe.
func (s *vp8Source) frame() bool {
	key := s.frameNo%s.keyframeEvery == 0
	size := s.keySize
	if !key {
		size = s.deltaSize*3/4 + s.rng.IntN(s.deltaSize/2+1)
	}
	f := s.buildFrame(key, size)
	const room = maxRTPPayload - vp8DescLen - trailerLen
	n := (len(f) + room - 1) / room
	chunk := (len(f) + n - 1) / n // equal-sized packets, like libwebrtc
	for i, off := 0, 0; off < len(f); i++ {
		end := min(off+chunk, len(f))
		p := s.payload[:vp8DescLen+end-off+trailerLen]
		p[0] = 0x80 // X
		if off == 0 {
			p[0] |= 0x10 // S: start of partition 0 (PID 0)
		}
		p[1] = 0x80                                               // I: picture id present
		p[2], p[3] = 0x80|byte(s.pictureID>>8), byte(s.pictureID) // M=1: 15 bits
		copy(p[vp8DescLen:], f[off:end])
		off = end
		s.pkt.Marker = off == len(f)
		s.pkt.Payload = p
		putTrailer(p, s.index, time.Now().UnixNano())
		s.index++
		s.stats.add(len(p), s.w.WriteRTP(&s.pkt))
		s.pkt.SequenceNumber++
	}
	s.pkt.Timestamp += s.tsStep
	s.pictureID = (s.pictureID + 1) & 0x7fff
	s.frameNo++
	return key
}

// opusSource produces 20 ms Opus packets of 60 to 100 bytes (a TOC byte for a 20 ms
// hybrid fullband mono frame, code 0, then filler): about 32 kbit/s, like voice in a browser.
type opusSource struct {
	w     rtpWriter
	stats *sendStats
	rng   *rand.Rand
	index uint32
	pkt   rtp.Packet
	buf   []byte
}

// opusPacketDuration is the audio packet interval.
const opusPacketDuration = 20 * time.Millisecond

func newOpusSource(w rtpWriter, stats *sendStats, seed uint64) *opusSource {
	s := &opusSource{w: w, stats: stats, rng: rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d)), buf: make([]byte, 100)}
	s.pkt.Version = 2
	s.pkt.SequenceNumber = uint16(s.rng.Uint32())
	s.pkt.Timestamp = s.rng.Uint32()
	return s
}

// packet writes the next audio packet.
func (s *opusSource) packet() {
	p := s.buf[:60+s.rng.IntN(41)]
	p[0] = 15<<3 | 0 // config 15 (hybrid FB 20 ms), mono, one frame
	copy(p[1:len(p)-trailerLen], filler[int(s.index)%4096:])
	putTrailer(p, s.index, time.Now().UnixNano())
	s.index++
	s.pkt.Payload = p
	s.stats.add(len(p), s.w.WriteRTP(&s.pkt))
	s.pkt.SequenceNumber++
	s.pkt.Timestamp += 960 // 20 ms at 48 kHz
}
