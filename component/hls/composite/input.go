package composite

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// inactiveAfter is how long an input may go without packets before it leaves the layout. ffmpeg's
// filters wait for every input, so one silent input (a muted camera) would freeze the picture.
const inactiveAfter = 3 * time.Second

// encoding is what the SDP declares for an input.
type encoding struct {
	video    bool
	name     string // rtpmap encoding name: H264, VP8, opus
	clock    uint32
	channels uint16 // audio only
	fmtp     string
}

// encodingOf maps a track's codec to an encoding ffmpeg can depacketize; false if unsupported.
func encodingOf(kind string, c webrtc.RTPCodecParameters) (encoding, bool) {
	mime := strings.ToLower(c.MimeType)
	switch {
	case kind == "video" && mime == strings.ToLower(webrtc.MimeTypeH264):
		return encoding{video: true, name: "H264", clock: 90000, fmtp: h264Fmtp(c.SDPFmtpLine)}, true
	case kind == "video" && mime == strings.ToLower(webrtc.MimeTypeVP8):
		return encoding{video: true, name: "VP8", clock: 90000}, true
	case kind == "audio" && mime == strings.ToLower(webrtc.MimeTypeOpus):
		// RFC 7587: always opus/48000/2 in SDP, whatever the actual channel count.
		return encoding{name: "opus", clock: 48000, channels: 2}, true
	}
	return encoding{}, false
}

// h264Fmtp keeps the track's fmtp (profile, sprop-parameter-sets) but forces packetization-mode=1,
// which ffmpeg needs for FU-A and STAP-A.
func h264Fmtp(fmtp string) string {
	var keep []string
	for p := range strings.SplitSeq(fmtp, ";") {
		p = strings.TrimSpace(p)
		if p != "" && !strings.HasPrefix(strings.ToLower(p), "packetization-mode") {
			keep = append(keep, p)
		}
	}
	return strings.Join(append(keep, "packetization-mode=1"), ";")
}

// dest is where an input's packets go during one ffmpeg run.
type dest struct {
	conn *net.UDPConn // shared by the run's inputs; closed when the run ends
	addr netip.AddrPort
	pt   uint8
}

// input is one track fed to ffmpeg. forward runs on the track's goroutine; the rest is atomics
// so that the Run goroutine can retarget it without stalling the media path.
type input struct {
	id     string
	enc    encoding
	notify func()

	lastPacket atomic.Int64 // unix nanos of the last packet; 0 = none yet
	dest       atomic.Pointer[dest]
	gone       atomic.Bool
	dropped    atomic.Uint64 // sends that failed (the run ended under them)

	buf []byte // forward's marshal buffer; only forward touches it
}

func newInput(id string, enc encoding, notify func()) *input {
	return &input{id: id, enc: enc, notify: notify, buf: make([]byte, 0, 1500)}
}

// forward sends one packet to the running ffmpeg with the payload type its SDP declares.
func (in *input) forward(h *rtp.Header, payload []byte) {
	if in.gone.Load() {
		return
	}
	now := time.Now().UnixNano()
	if prev := in.lastPacket.Swap(now); now-prev >= int64(inactiveAfter) {
		in.notify() // (re)joins the layout
	}
	d := in.dest.Load()
	if d == nil {
		return
	}
	hdr := *h
	hdr.PayloadType = d.pt
	hdr.Padding, hdr.PaddingSize = false, 0 // payload comes without its padding
	hdr.Extension, hdr.Extensions = false, nil
	b, err := hdr.MarshalTo(in.buf[:cap(in.buf)])
	if err != nil {
		return
	}
	pkt := append(in.buf[:b], payload...)
	in.buf = pkt[:0]
	if _, err := d.conn.WriteToUDPAddrPort(pkt, d.addr); err != nil {
		in.dropped.Add(1)
	}
}

// activeAt reports whether the input had a packet within inactiveAfter of now.
func (in *input) activeAt(now time.Time) bool {
	last := in.lastPacket.Load()
	return last != 0 && now.UnixNano()-last < int64(inactiveAfter)
}

// detach stops forwarding for good (the track was removed).
func (in *input) detach() {
	in.gone.Store(true)
	in.dest.Store(nil)
}
