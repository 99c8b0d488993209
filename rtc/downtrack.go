package rtc

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Queue lengths of a down-track: how far a subscriber's writer may fall behind its up-track
// before packets are dropped (video then resumes at the next keyframe).
const (
	videoQueue = 256
	audioQueue = 64
)

// DownTrack forwards one up-track to one subscriber. It is the subscriber's webrtc.TrackLocal,
// so it owns its SSRC, payload type, sequence numbers and timestamps: the up-track's layer can
// change, or a publisher can come back, without renegotiation.
//
// Goroutines: one writer draining the queue (ends with Close) and one RTCP reader on the
// subscriber's RTPSender (PLI, FIR, NACK; ends when the sender stops, which Close ensures).
type DownTrack struct {
	id, streamID string
	up           *UpTrack
	log          *slog.Logger

	binding atomic.Pointer[binding] // nil until negotiated (Bind) and after Unbind
	queue   chan *packet
	done    chan struct{}

	needKeyframe atomic.Bool  // video: drop until a keyframe (start, congestion, layer switch)
	replayAt     atomic.Int64 // unix ns of the last replay of a local up-track's GOP to this track
	sink         bool         // a component's (NewSinkTrack): no PeerConnection
	drops        atomic.Uint64
	sent         atomic.Uint64
	rtxCredit    atomic.Int64 // retransmission budget, in tenths of a packet (see retransmit)

	munger  Munger     // only the writer goroutine touches it
	header  rtp.Header // the writer's reusable header: &header would escape (and allocate) per packet
	history seqHistory // outgoing seq -> incoming seq, for NACKs

	sender    *webrtc.RTPSender
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type binding struct {
	ssrc  uint32
	pt    uint8
	write webrtc.TrackLocalWriter
}

// NewDownTrack returns a down-track of up for one subscriber and starts its writer. streamID is
// the msid stream id the subscriber's browser groups the track under.
func NewDownTrack(up *UpTrack, streamID string, log *slog.Logger) *DownTrack {
	return newDownTrack(up, streamID, log, nil)
}

// newDownTrack starts a down-track; a non-nil sink makes it a component's (see NewSinkTrack).
func newDownTrack(up *UpTrack, streamID string, log *slog.Logger, sink SinkFunc) *DownTrack {
	n := videoQueue
	if up.kind == webrtc.RTPCodecTypeAudio {
		n = audioQueue
	}
	d := &DownTrack{
		id: up.id, streamID: streamID, up: up,
		log:   log.With("track", up.id),
		queue: make(chan *packet, n),
		done:  make(chan struct{}),
	}
	d.munger = *NewMunger(up.codec.ClockRate)
	d.needKeyframe.Store(up.kind == webrtc.RTPCodecTypeVideo)
	d.rtxCredit.Store(rtxInitial * rtxCost)
	if sink != nil {
		d.sink = true
		d.binding.Store(&binding{ssrc: rand.Uint32(), pt: uint8(up.codec.PayloadType), write: sinkWriter(sink)})
	}
	d.wg.Go(d.writeLoop)
	up.Subscribe(d)
	return d
}

// ID is the Jellyfish track id (webrtc.TrackLocal).
func (d *DownTrack) ID() string { return d.id }

// RID is empty: a subscriber receives one stream (webrtc.TrackLocal).
func (d *DownTrack) RID() string { return "" }

// StreamID is the msid stream id (webrtc.TrackLocal).
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind is the up-track's kind (webrtc.TrackLocal).
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.up.kind }

// Up returns the forwarded up-track.
func (d *DownTrack) Up() *UpTrack { return d.up }

// Stats returns the packets written and dropped so far.
func (d *DownTrack) Stats() (sent, dropped uint64) { return d.sent.Load(), d.drops.Load() }

// Bind picks the subscriber's payload type for the up-track's codec (webrtc.TrackLocal). It runs
// under pion's sender lock: it only stores what it found.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := d.up.codec
	for _, c := range ctx.CodecParameters() {
		if codecMatches(want.RTPCodecCapability, c.RTPCodecCapability) {
			d.binding.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), write: ctx.WriteStream()})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("rtc: subscriber cannot receive %s: %w", want.MimeType, webrtc.ErrUnsupportedCodec)
}

// Unbind stops writing (webrtc.TrackLocal).
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)
	return nil
}

// codecMatches compares mime types and, for H.264, packetization mode and profile.
func codecMatches(want, got webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(want.MimeType, got.MimeType) {
		return false
	}
	if !strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) {
		return true
	}
	return fmtpValue(want.SDPFmtpLine, "packetization-mode") == fmtpValue(got.SDPFmtpLine, "packetization-mode") &&
		profile(fmtpValue(want.SDPFmtpLine, "profile-level-id")) == profile(fmtpValue(got.SDPFmtpLine, "profile-level-id"))
}

func fmtpValue(fmtp, key string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && strings.EqualFold(k, key) {
			return strings.ToLower(v)
		}
	}
	if key == "packetization-mode" {
		return "0"
	}
	return ""
}

// profile keeps profile_idc and the constraint flags of a profile-level-id (not the level,
// which decoders accept from lower to higher).
func profile(plid string) string {
	if len(plid) < 4 {
		return plid
	}
	return plid[:4]
}

// attach starts the RTCP reader once the down-track has a sender.
func (d *DownTrack) attach(sender *webrtc.RTPSender) {
	d.sender = sender
	d.wg.Go(func() { d.readRTCP(sender) })
}

// enqueue hands p to the writer without blocking: a full queue drops p, and video then waits
// for a keyframe.
func (d *DownTrack) enqueue(p *packet) {
	select {
	case d.queue <- p:
	default:
		if d.drops.Add(1)%100 == 1 {
			d.log.Debug("subscriber congested: dropping", "dropped", d.drops.Load())
		}
		// A local track's WriteRTP holds its lock while fanning out: its replay is asked
		// for by the writer instead (write, while it waits for a keyframe).
		if d.up.kind == webrtc.RTPCodecTypeVideo && !d.needKeyframe.Swap(true) && d.up.local == nil {
			d.up.RequestKeyframe()
		}
	}
}

// resync makes the writer restart at the next keyframe with continuous numbering (layer switch).
func (d *DownTrack) resync() {
	if d.up.kind == webrtc.RTPCodecTypeVideo {
		d.needKeyframe.Store(true)
	}
	select {
	case d.queue <- switchMarker:
	default:
	}
}

// switchMarker in the queue tells the writer that the source changes.
var switchMarker = &packet{}

func (d *DownTrack) writeLoop() {
	for {
		select {
		case <-d.done:
			if d.sink {
				d.drain() // a recorder wants the packets that arrived before the track ended
			}
			return
		case p := <-d.queue:
			if p == switchMarker {
				d.munger.Switch()
				continue
			}
			if p.batch != nil {
				if d.sent.Load() == 0 {
					// Nothing reached the subscriber yet, but an earlier attempt may have
					// numbered (and dropped) packets of this replay: number afresh.
					d.munger = *NewMunger(d.up.codec.ClockRate)
				}
				for _, q := range p.batch {
					d.write(q)
				}
				continue
			}
			d.write(p)
		}
	}
}

// drain writes what is still queued (after Close: nothing more is enqueued).
func (d *DownTrack) drain() {
	for {
		select {
		case p := <-d.queue:
			switch {
			case p == switchMarker:
				d.munger.Switch()
			case p.batch != nil:
				for _, q := range p.batch {
					d.write(q)
				}
			default:
				d.write(p)
			}
		default:
			return
		}
	}
}

func (d *DownTrack) write(p *packet) {
	b := d.binding.Load()
	if b == nil {
		return // not negotiated yet: nothing to number either
	}
	if d.needKeyframe.Load() {
		if !p.keyframe {
			d.munger.Drop(p.header.SequenceNumber)
			// Keep asking while we wait: the request made on subscribe is answered before the
			// subscriber is negotiated, and a keyframe can be lost (see below). Throttled by
			// the up-track to one PLI per 500 ms.
			d.up.RequestKeyframe()
			return
		}
		d.needKeyframe.Store(false)
	}
	h := &d.header
	*h = p.header // our own copy; p is shared
	if !d.munger.Rewrite(h, p.arrival) {
		return
	}
	d.history.put(h.SequenceNumber, p.header.SequenceNumber, h.Timestamp)
	h.SSRC, h.PayloadType = b.ssrc, b.pt
	n, err := b.write.WriteRTP(h, p.payload)
	switch {
	case err == nil && n > 0:
		d.sent.Add(1)
		if d.rtxCredit.Load() < rtxBurst*rtxCost {
			d.rtxCredit.Add(1)
		}
	case p.keyframe:
		// Not sent: until the subscriber's DTLS/SRTP is up (Bind comes before that on a new
		// PeerConnection) pion drops packets and returns 0 bytes without an error. The
		// subscriber would start with interframes it cannot decode: wait for another keyframe.
		d.needKeyframe.Store(true) // a local track replays again after replayInterval
	}
}

// readRTCP handles the subscriber's feedback until the sender stops.
func (d *DownTrack) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, receiveMTU)
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch p := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.up.RequestKeyframe()
			case *rtcp.TransportLayerNack:
				for _, pair := range p.Nacks {
					for _, seq := range pair.PacketList() {
						d.retransmit(seq, buf)
					}
				}
			}
		}
	}
}

// The retransmission budget: a subscriber gets at most one retransmission per rtxCost packets
// forwarded to it (10%), in bursts of up to rtxBurst. A saturated server loses packets, its
// subscribers NACK them all, and answering every NACK adds the load that made them: without a
// budget the server collapses instead of degrading (docs/benchmarks.md, livestream 1->400).
const (
	rtxCost    = 10
	rtxBurst   = 64
	rtxInitial = 16 // retransmissions a new subscriber may get before it earned any
)

// retransmit resends outgoing packet seq from the up-track's cache, numbered as it was sent.
func (d *DownTrack) retransmit(seq uint16, buf []byte) {
	if d.rtxCredit.Load() < rtxCost {
		return
	}
	in, ts, ok := d.history.claim(seq, time.Now())
	b := d.binding.Load()
	if !ok || b == nil {
		return
	}
	n, ok := d.up.cache.Get(in, buf)
	if !ok {
		return
	}
	var pkt rtp.Packet
	if pkt.Unmarshal(buf[:n]) != nil {
		return
	}
	h := pkt.Header
	h.Extension, h.Extensions, h.ExtensionProfile = false, nil, 0
	h.SequenceNumber, h.Timestamp, h.SSRC, h.PayloadType = seq, ts, b.ssrc, b.pt
	d.rtxCredit.Add(-rtxCost)
	b.write.WriteRTP(&h, pkt.Payload)
}

// Close stops the down-track: it leaves its up-track, stops its sender and waits for its
// goroutines. It is idempotent.
func (d *DownTrack) Close() {
	d.closeOnce.Do(func() {
		d.up.Unsubscribe(d)
		close(d.done)
		if d.sender != nil {
			d.sender.Stop()
		}
		d.wg.Wait()
	})
}

// seqHistory remembers, for the last historySize packets sent, which incoming packet and which
// timestamp each outgoing sequence number carried, and when it was last retransmitted.
type seqHistory struct {
	mu      sync.Mutex
	entries [historySize]struct {
		out, in uint16
		ts      uint32
		valid   bool
		resent  int64 // unix ns of the last retransmission; 0: never
	}
}

const historySize = 1024

// resendInterval is the NACK brake: a packet is retransmitted at most once per interval,
// whatever the subscriber's NACK generator repeats. Without it a saturated server answers the
// same loss again and again and collapses (docs/benchmarks.md).
const resendInterval = 100 * time.Millisecond

func (h *seqHistory) put(out, in uint16, ts uint32) {
	h.mu.Lock()
	e := &h.entries[out%historySize]
	e.out, e.in, e.ts, e.valid, e.resent = out, in, ts, true, 0
	h.mu.Unlock()
}

// claim returns what outgoing seq carried if it may be retransmitted now, and records that it is.
func (h *seqHistory) claim(out uint16, now time.Time) (in uint16, ts uint32, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := &h.entries[out%historySize]
	if !e.valid || e.out != out || (e.resent != 0 && now.UnixNano()-e.resent < int64(resendInterval)) {
		return 0, 0, false
	}
	e.resent = now.UnixNano()
	return e.in, e.ts, true
}

var _ webrtc.TrackLocal = (*DownTrack)(nil)
