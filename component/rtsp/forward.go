package rtsp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	// payloadType is the payload type of the packets we publish (subscribers get their own).
	payloadType = 96
	// maxPacket bounds every packet we publish, so that it fits any WebRTC path (SRTP, TURN).
	maxPacket = 1200
	rtpHeader = 12
	// maxTimestampStep bounds the timestamp jump over a reconnection, so that a receiver never
	// takes the new frames for old ones (half the 32-bit space is the limit).
	maxTimestampStep = 1 << 30
)

// trackWriter is where a forwarder publishes: a *jellyfish.LocalTrack (a fake in unit tests).
type trackWriter interface {
	WriteRTP(p *rtp.Packet) error
}

// forwarder turns the camera's RTP packets into those of the published track. It rebuilds
// access units with gortsplib's H.264 decoder, drops access unit delimiters, puts SPS and PPS
// (from the SDP's sprop-parameter-sets or the last in-band ones) in front of every IDR so that a
// subscriber starting at a keyframe can decode, and packetizes again into packets of at most
// maxPacket bytes with its own sequence numbers and timestamps, continuous across reconnects.
//
// The camera connections are sessions, one after another; each is forwarded from its first
// IDR on. handle runs on the RTSP client's reading goroutine, the other methods on the
// component's Run goroutine; mu orders them (the next session's packets are read by another
// goroutine than the last one's). Writing to the track is an in-process, non-blocking fan-out.
type forwarder struct {
	mu  sync.Mutex
	now func() time.Time
	out trackWriter // nil until the track is published
	enc *rtph264.Encoder
	dec *rtph264.Decoder // of the current session

	sps, pps [][]byte // the parameter sets put in front of IDRs
	waitIDR  bool     // the session has not forwarded its first IDR yet

	// The timestamp of the access unit the decoder is assembling (see decode).
	pending   bool
	pendingTS uint32

	// Timestamps: out = outBase + (camera ts - srcBase) within a session.
	synced           bool // the session's first forwarded access unit set the bases
	srcBase, outBase uint32
	wrote            bool // an access unit was ever written
	lastOut          uint32
	lastWall         time.Time

	stats forwardStats
}

// forwardStats count what a session did (logged when it ends).
type forwardStats struct {
	frames, skipped, decodeErrors, writeErrors int
}

func newForwarder() (*forwarder, error) {
	enc := &rtph264.Encoder{
		PayloadType:       payloadType,
		PayloadMaxSize:    maxPacket - rtpHeader,
		PacketizationMode: 1,
	}
	if err := enc.Init(); err != nil {
		return nil, err
	}
	return &forwarder{now: time.Now, enc: enc}, nil
}

// startSession prepares for the packets of a new camera session that carries forma.
func (f *forwarder) startSession(forma *format.H264) error {
	dec := &rtph264.Decoder{PacketizationMode: forma.PacketizationMode}
	if err := dec.Init(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dec = dec
	f.pending, f.synced, f.waitIDR = false, false, true
	if forma.SPS != nil {
		f.sps = [][]byte{slices.Clone(forma.SPS)}
	}
	if forma.PPS != nil {
		f.pps = [][]byte{slices.Clone(forma.PPS)}
	}
	f.stats = forwardStats{}
	return nil
}

// endSession returns the session's counters.
func (f *forwarder) endSession() forwardStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dec = nil
	return f.stats
}

// setTrack starts the publishing: access units are forwarded from the next IDR on.
func (f *forwarder) setTrack(w trackWriter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = w
}

// knownSPS returns the first SPS known so far (nil if none).
func (f *forwarder) knownSPS() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sps) > 0 {
		return f.sps[0]
	}
	return nil
}

// handle takes one RTP packet of the camera.
func (f *forwarder) handle(pkt *rtp.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dec == nil {
		return
	}
	if au, ts, ok := f.decode(pkt); ok {
		f.write(au, ts)
	}
}

// decode feeds the decoder and returns a complete access unit with its timestamp. The
// decoder ends an access unit at a marker bit, or at the first packet of the next one (a
// camera without markers); in the second case the unit is the previous timestamp's, which
// pending/pendingTS remember.
func (f *forwarder) decode(pkt *rtp.Packet) ([][]byte, uint32, bool) {
	au, err := f.dec.Decode(pkt)
	switch {
	case errors.Is(err, rtph264.ErrMorePacketsNeeded):
		if !f.pending {
			f.pending, f.pendingTS = true, pkt.Timestamp
		}
		return nil, 0, false
	case errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious):
		return nil, 0, false // joined in the middle of a fragmented unit
	case err != nil:
		// A lost or broken packet: start over with a fresh decoder, so that no half unit
		// stays buffered (the next units still decode, with artefacts until an IDR).
		f.stats.decodeErrors++
		f.dec = &rtph264.Decoder{PacketizationMode: f.dec.PacketizationMode}
		if f.dec.Init() != nil {
			f.dec = nil
		}
		f.pending = false
		return nil, 0, false
	}
	ts := pkt.Timestamp
	if f.pending && f.pendingTS != pkt.Timestamp {
		ts, f.pendingTS = f.pendingTS, pkt.Timestamp // pkt starts the next unit
	} else {
		f.pending = false
	}
	return au, ts, true
}

// write publishes one access unit.
func (f *forwarder) write(au [][]byte, ts uint32) {
	var sps, pps, rest [][]byte
	idr := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
		case h264.NALUTypeSPS:
			sps = append(sps, n)
		case h264.NALUTypePPS:
			pps = append(pps, n)
		default:
			if h264.NALUType(n[0]&0x1f) == h264.NALUTypeIDR {
				idr = true
			}
			rest = append(rest, n)
		}
	}
	// In-band parameter sets replace the known ones (they may have changed).
	if len(sps) > 0 {
		f.sps = cloneAll(sps)
	}
	if len(pps) > 0 {
		f.pps = cloneAll(pps)
	}
	if f.out == nil || (f.waitIDR && !idr) || len(rest)+len(sps)+len(pps) == 0 {
		f.stats.skipped++
		return
	}
	f.waitIDR = false
	nalus := make([][]byte, 0, len(f.sps)+len(f.pps)+len(rest))
	if idr {
		nalus = append(append(nalus, f.sps...), f.pps...)
	} else {
		nalus = append(append(nalus, sps...), pps...)
	}
	nalus = append(nalus, rest...)

	out := f.timestamp(ts)
	pkts, err := f.enc.Encode(nalus)
	if err != nil {
		f.stats.writeErrors++
		return
	}
	for _, p := range pkts {
		p.Timestamp = out
		if f.out.WriteRTP(p) != nil {
			f.stats.writeErrors++
		}
	}
	f.stats.frames++
}

// timestamp maps a camera timestamp to ours. A new session continues where the last one
// stopped, advanced by the wall-clock time in between.
func (f *forwarder) timestamp(ts uint32) uint32 {
	now := f.now()
	if !f.synced {
		f.synced = true
		f.srcBase = ts
		if f.wrote {
			step := now.Sub(f.lastWall).Milliseconds() * 90
			f.outBase = f.lastOut + uint32(min(max(step, 1), maxTimestampStep))
		} else {
			f.outBase = rand.Uint32()
		}
	}
	out := f.outBase + (ts - f.srcBase)
	if !f.wrote || int32(out-f.lastOut) > 0 {
		f.lastOut = out
	}
	f.wrote, f.lastWall = true, now
	return out
}

func cloneAll(nalus [][]byte) [][]byte {
	out := make([][]byte, len(nalus))
	for i, n := range nalus {
		out[i] = slices.Clone(n)
	}
	return out
}

// trackCodec is the codec the component publishes. WebRTC peers of this server receive H.264
// as constrained baseline (42e0) or baseline (4200) only, so the profile-level-id keeps the
// SPS's level but names a baseline profile: 4200 for a Baseline SPS without the constrained
// flag, 42e0 for everything else (a Main or High camera is announced as constrained baseline;
// browsers' decoders decode it anyway). Without an SPS it is 42e01f.
func trackCodec(sps []byte) webrtc.RTPCodecParameters {
	plid := "42e01f"
	if len(sps) >= 4 {
		profile := "42e0"
		if sps[1] == 66 && sps[2]&0x40 == 0 {
			profile = "4200"
		}
		plid = fmt.Sprintf("%s%02x", profile, sps[3])
	}
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:    webrtc.MimeTypeH264,
			ClockRate:   90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid,
		},
		PayloadType: payloadType,
	}
}
