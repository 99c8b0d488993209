package recording

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/pion/rtp"
)

// trackRecorder records one track to <dir>/<file>. write runs on the track's goroutine; finish
// runs once its packets stopped (RemoveTrack, or the recorder's end, both come after the room
// closed the track's sink). It does I/O but holds no lock.
type trackRecorder struct {
	info    trackReport
	path    string
	log     *slog.Logger
	codec   mediaCodec
	file    *fragmentFile // nil until the first decodable sample
	failed  bool          // a write failed: the rest of the track is dropped
	ts      tsUnwrapper
	first   time.Time // arrival of the first recorded sample
	partAt  time.Time // the part's start, for report offsets
	dropped int       // packets dropped while waiting for a keyframe or after errors
}

// mediaCodec turns a track's RTP packets into samples.
type mediaCodec interface {
	// sample returns the next complete sample (nil when the packet did not end one) with its
	// decode time and the init track of the file (used when the file is created).
	sample(pkt *rtp.Packet, pts int64) (s *fmp4.Sample, dts int64, init *fmp4.InitTrack, err error)
	// lastDuration is the duration to give the final sample when it is the only one.
	lastDuration() uint32
}

// errSkip: the packet gives no sample yet (a frame in progress, waiting for a keyframe).
var errSkip = errors.New("skip")

func (t *trackRecorder) write(h *rtp.Header, payload []byte) {
	if t.failed {
		return
	}
	// The payload is only valid during the call, and a decoder keeps NALUs across packets.
	pkt := &rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)}
	s, dts, init, err := t.codec.sample(pkt, t.ts.unwrap(h.Timestamp))
	switch {
	case errors.Is(err, errSkip):
		return
	case err != nil:
		t.dropped++
		if t.dropped%100 == 1 {
			t.log.Warn("recording: dropping media", "track", t.info.ID, "err", err, "dropped", t.dropped)
		}
		return
	case s == nil:
		return
	}
	if t.file == nil {
		f, err := createFragmentFile(t.path, init)
		if err != nil {
			t.fail(err)
			return
		}
		t.file, t.first = f, time.Now()
	}
	if err := t.file.push(dts, s); err != nil {
		t.fail(err)
	}
}

func (t *trackRecorder) fail(err error) {
	t.failed = true
	t.log.Error("recording: track write failed; the rest of the track is not recorded", "track", t.info.ID, "file", t.path, "err", err)
}

// finish closes the file and returns the track's report entry (ok=false: nothing recorded).
func (t *trackRecorder) finish() (trackReport, bool) {
	if t.file == nil {
		t.log.Info("recording: track ended without a recordable sample", "track", t.info.ID)
		return trackReport{}, false
	}
	err := t.file.close(t.codec.lastDuration())
	if err != nil {
		t.log.Error("recording: closing track file", "file", t.path, "err", err)
	}
	r := t.info
	r.StartOffsetMs = t.first.Sub(t.partAt).Milliseconds()
	r.DurationMs = int64(t.file.duration * 1000 / uint64(t.file.timeScale))
	r.Samples = t.file.samples
	t.file = nil
	return r, true
}

// tsUnwrapper extends 32-bit RTP timestamps to 64 bits, relative to the first one.
type tsUnwrapper struct {
	started bool
	last    uint32
	ext     int64
}

func (u *tsUnwrapper) unwrap(ts uint32) int64 {
	if !u.started {
		u.started, u.last = true, ts
		return 0
	}
	u.ext += int64(int32(ts - u.last))
	u.last = ts
	return u.ext
}

// h264Codec depacketizes H.264 (RFC 6184) into access units in AVCC form. The file starts at
// the first IDR that carries its SPS and PPS; later parameter sets stay in band. A frame must
// end with the marker bit (RFC 6184 requires it): a frame cut short by a new timestamp is
// dropped like a loss, and recording resumes at the next IDR.
type h264Codec struct {
	dec      *rtph264.Decoder
	dts      h264.DTSExtractor
	keyframe func() // asks the publisher for an IDR

	waitIDR  bool  // drop frames until an IDR (start, loss, bad frame)
	inFrame  bool  // the decoder holds part of a frame...
	framePTS int64 // ...with this timestamp
	started  bool  // the file's first sample was made
	firstDTS int64 // decode times are relative to the first sample's
	lastDTS  int64
}

func newH264Codec(requestKeyframe func()) *h264Codec {
	c := &h264Codec{keyframe: requestKeyframe}
	c.reset()
	return c
}

// reset restarts depacketizing and waits for the next IDR.
func (c *h264Codec) reset() {
	c.dec = &rtph264.Decoder{PacketizationMode: 1}
	_ = c.dec.Init() // mode 1 is valid
	c.dts = h264.DTSExtractor{}
	c.dts.Initialize()
	c.waitIDR, c.inFrame = true, false
}

func (c *h264Codec) sample(pkt *rtp.Packet, pts int64) (*fmp4.Sample, int64, *fmp4.InitTrack, error) {
	if c.inFrame && pts != c.framePTS {
		c.reset() // the previous frame never ended: lost packets or no marker
		c.keyframe()
	}
	au, err := c.dec.Decode(pkt)
	switch {
	case errors.Is(err, rtph264.ErrMorePacketsNeeded):
		c.inFrame, c.framePTS = true, pts
		return nil, 0, nil, errSkip
	case errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious):
		return nil, 0, nil, errSkip
	case err != nil:
		c.reset()
		c.keyframe()
		return nil, 0, nil, err
	}
	c.inFrame = false
	au = dropNALUs(au)
	if len(au) == 0 {
		return nil, 0, nil, errSkip
	}
	idr := h264.IsRandomAccess(au)
	if c.waitIDR && !idr {
		c.keyframe() // throttled by the room
		return nil, 0, nil, errSkip
	}
	var init *fmp4.InitTrack
	if !c.started {
		sps, pps := paramSets(au)
		if sps == nil || pps == nil {
			c.keyframe()
			return nil, 0, nil, errSkip
		}
		init = &fmp4.InitTrack{TimeScale: 90000, Codec: &codecs.H264{SPS: sps, PPS: pps}}
	}
	dts, err := c.dts.Extract(au, pts)
	if err != nil {
		c.reset()
		c.keyframe()
		return nil, 0, nil, fmt.Errorf("decode time: %w", err)
	}
	c.waitIDR = false
	if !c.started {
		c.started, c.firstDTS = true, dts
	} else if dts-c.firstDTS <= c.lastDTS {
		return nil, 0, nil, fmt.Errorf("decode time %d not after %d", dts-c.firstDTS, c.lastDTS)
	}
	c.lastDTS = dts - c.firstDTS
	payload, err := h264.AVCC(au).Marshal()
	if err != nil {
		return nil, 0, nil, err
	}
	s := &fmp4.Sample{PTSOffset: int32(pts - dts), IsNonSyncSample: !idr, Payload: payload}
	return s, c.lastDTS, init, nil
}

// lastDuration: one frame at 30 fps.
func (c *h264Codec) lastDuration() uint32 { return 3000 }

// dropNALUs removes access unit delimiters and filler data, which MP4 samples do not carry.
func dropNALUs(au [][]byte) [][]byte {
	out := au[:0]
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter, h264.NALUTypeFillerData:
			continue
		}
		out = append(out, n)
	}
	return out
}

func paramSets(au [][]byte) (sps, pps []byte) {
	for _, n := range au {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	return sps, pps
}

// opusCodec records Opus (RFC 7587): one RTP packet is one sample, timed by its RTP timestamp
// (48 kHz), so silence left out by DTX keeps its place.
type opusCodec struct {
	channels int
	started  bool
	lastTS   int64
	lastPkt  []byte
}

func (c *opusCodec) sample(pkt *rtp.Packet, pts int64) (*fmp4.Sample, int64, *fmp4.InitTrack, error) {
	if len(pkt.Payload) == 0 {
		return nil, 0, nil, errSkip
	}
	var init *fmp4.InitTrack
	if !c.started {
		c.started = true
		init = &fmp4.InitTrack{TimeScale: 48000, Codec: &codecs.Opus{ChannelCount: c.channels}}
	} else if pts <= c.lastTS {
		return nil, 0, nil, fmt.Errorf("timestamp %d not after %d", pts, c.lastTS)
	}
	c.lastTS, c.lastPkt = pts, pkt.Payload
	return &fmp4.Sample{Payload: pkt.Payload}, pts, init, nil
}

func (c *opusCodec) lastDuration() uint32 {
	if d := opus.PacketDuration2(c.lastPkt); d > 0 {
		return uint32(d)
	}
	return 960 // 20 ms
}

// trackFileName is the file of a track: its id with anything but letters, digits, '-', '_'
// and '.' replaced by '_', plus ".mp4".
func trackFileName(id string) string {
	b := []byte(id)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.'
		if !ok {
			b[i] = '_'
		}
	}
	return filepath.Base(string(b)) + ".mp4"
}
