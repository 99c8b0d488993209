package rtc

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// packet is one received RTP packet as it is fanned out: read-only once published, shared by
// every down-track (each rewrites its own copy of the header).
type packet struct {
	header   rtp.Header
	payload  []byte
	keyframe bool
	arrival  time.Time
	batch    []*packet // a replay (local tracks): these packets, in order, instead of this one
}

// receiveMTU bounds one received RTP packet.
const receiveMTU = 1500

// UpTrack is a published track: it reads the publisher's RTP (one reader per simulcast layer,
// running on the OnTrack goroutine pion starts), caches recent packets for NACKs, and fans them
// out to its DownTracks without ever blocking on them.
//
// Goroutines: per attached layer, the caller's reader (ReadLayer) and one RTCP reader that
// drains the receiver (so that the interceptors see sender reports); both end when the
// publisher's PeerConnection closes the track.
type UpTrack struct {
	id    string
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecParameters
	log   *slog.Logger

	subsMu sync.Mutex
	subs   atomic.Pointer[[]*DownTrack] // immutable snapshot; rebuilt under subsMu

	cache     *PacketCache
	keyframes keyframeRequester
	local     *localSource // non-nil when the packets come from WriteRTP

	forwarding atomic.Pointer[string] // rid of the layer being forwarded
	packets    atomic.Uint64
	bytes      atomic.Uint64

	// OnAudioLevel, if set before the first layer is attached, receives the RFC 6464 audio
	// level of each audio packet (for voice activity detection). It runs on the reader.
	OnAudioLevel func(level uint8, voice bool, now time.Time)

	wg sync.WaitGroup
}

// NewUpTrack returns the up-track of a published track with Jellyfish track id id, whose
// publisher sends codec.
func NewUpTrack(id string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters, log *slog.Logger) *UpTrack {
	u := &UpTrack{id: id, kind: kind, codec: codec, log: log.With("track", id), cache: NewPacketCache(packetCacheSize)}
	u.subs.Store(&[]*DownTrack{})
	return u
}

// packetCacheSize is how many recent packets an up-track keeps for retransmissions: about a
// second of 2.5 Mbit/s video.
const packetCacheSize = 512

// ID returns the Jellyfish track id.
func (u *UpTrack) ID() string { return u.id }

// Kind returns audio or video.
func (u *UpTrack) Kind() webrtc.RTPCodecType { return u.kind }

// Codec returns the codec the publisher sends.
func (u *UpTrack) Codec() webrtc.RTPCodecParameters { return u.codec }

// Stats returns the packets and bytes received so far.
func (u *UpTrack) Stats() (packets, bytes uint64) { return u.packets.Load(), u.bytes.Load() }

// layerRank orders simulcast layers: the highest available one is forwarded.
func layerRank(rid string) int {
	switch rid {
	case "h", "":
		return 3
	case "m":
		return 2
	case "l":
		return 1
	}
	return 0
}

// ReadLayer reads one incoming stream (a simulcast layer, or the only stream) until it ends.
// Call it from the OnTrack goroutine; writeRTCP sends RTCP to the publisher.
func (u *UpTrack) ReadLayer(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver, writeRTCP func([]rtcp.Packet) error) {
	rid := remote.RID()
	log := u.log.With("rid", rid, "ssrc", remote.SSRC())
	u.wg.Go(func() { drainRTCP(receiver, rid) })
	audioLevelID := u.audioLevelExtension(receiver)

	// Forward this layer if it is the best one so far.
	for {
		cur := u.forwarding.Load()
		if cur != nil && layerRank(*cur) >= layerRank(rid) {
			break
		}
		if u.forwarding.CompareAndSwap(cur, &rid) {
			u.keyframes.setTarget(uint32(remote.SSRC()), writeRTCP)
			u.switchSubscribers()
			break
		}
	}
	log.Debug("reading published stream")
	mime := u.codec.MimeType
	var keyStart keyframeStart
	for {
		buf := make([]byte, receiveMTU) // one buffer per packet: subscribers hold on to it
		n, _, err := remote.Read(buf)
		if err != nil {
			log.Debug("published stream ended", "err", err)
			return
		}
		now := time.Now()
		p := &packet{arrival: now}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if f := u.forwarding.Load(); f == nil || *f != rid {
			continue // another layer is forwarded
		}
		u.packets.Add(1)
		u.bytes.Add(uint64(n))
		u.cache.Add(pkt.SequenceNumber, buf[:n])
		if audioLevelID != 0 && u.OnAudioLevel != nil {
			if ext := pkt.GetExtension(audioLevelID); len(ext) > 0 {
				var lvl rtp.AudioLevelExtension
				if lvl.Unmarshal(ext) == nil {
					u.OnAudioLevel(lvl.Level, lvl.Voice, now)
				}
			}
		}
		// Extension ids are per connection: never forward ours to subscribers.
		p.header = pkt.Header
		p.header.Extension, p.header.Extensions, p.header.ExtensionProfile = false, nil, 0
		p.payload = pkt.Payload
		if u.kind == webrtc.RTPCodecTypeVideo {
			p.keyframe = IsKeyframe(mime, p.payload) && keyStart.first(p.header.Timestamp)
		}
		u.keyframes.tick(now)
		u.forward(p)
	}
}

// forward hands p to every subscriber without blocking (lock-free: an immutable snapshot).
func (u *UpTrack) forward(p *packet) {
	for _, d := range *u.subs.Load() {
		d.enqueue(p)
	}
}

func (u *UpTrack) audioLevelExtension(receiver *webrtc.RTPReceiver) uint8 {
	if u.kind != webrtc.RTPCodecTypeAudio {
		return 0
	}
	for _, e := range receiver.GetParameters().HeaderExtensions {
		if e.URI == "urn:ietf:params:rtp-hdrext:ssrc-audio-level" {
			return uint8(e.ID)
		}
	}
	return 0
}

// drainRTCP reads the receiver's RTCP until the track ends: interceptors process RTCP only when
// somebody reads it.
func drainRTCP(receiver *webrtc.RTPReceiver, rid string) {
	for {
		var err error
		if rid != "" {
			_, _, err = receiver.ReadSimulcastRTCP(rid)
		} else {
			_, _, err = receiver.ReadRTCP()
		}
		if err != nil {
			return
		}
	}
}

// switchSubscribers makes every down-track resume at the next keyframe of the (new) layer.
func (u *UpTrack) switchSubscribers() {
	for _, d := range *u.subs.Load() {
		d.resync()
	}
	u.RequestKeyframe()
}

// Subscribe starts fanning out to d and asks the publisher for a keyframe for it.
func (u *UpTrack) Subscribe(d *DownTrack) {
	u.subsMu.Lock()
	next := append(slices.Clone(*u.subs.Load()), d)
	u.subs.Store(&next)
	u.subsMu.Unlock()
	u.RequestKeyframe()
}

// Unsubscribe stops fanning out to d.
func (u *UpTrack) Unsubscribe(d *DownTrack) {
	u.subsMu.Lock()
	next := slices.DeleteFunc(slices.Clone(*u.subs.Load()), func(x *DownTrack) bool { return x == d })
	u.subs.Store(&next)
	u.subsMu.Unlock()
}

// Subscribers returns how many down-tracks receive this track.
func (u *UpTrack) Subscribers() int { return len(*u.subs.Load()) }

// RequestKeyframe asks the publisher for a keyframe (PLI), at most once per 500 ms; a request
// made sooner is sent when that interval ends. Audio tracks ignore it.
func (u *UpTrack) RequestKeyframe() {
	if u.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	if u.local != nil {
		// A local source cannot make keyframes: replay the last one to new subscribers.
		now := time.Now().UnixNano()
		for _, d := range *u.subs.Load() {
			last := d.replayAt.Load()
			// At most one replay per replayInterval: before the subscriber's DTLS is up its
			// writes fail, and replaying at once again would spin.
			if d.needKeyframe.Load() && d.sent.Load() == 0 && d.binding.Load() != nil &&
				now-last >= int64(replayInterval) && d.replayAt.CompareAndSwap(last, now) {
				u.local.replayTo(d)
			}
		}
		return
	}
	u.keyframes.request(time.Now())
}

// Wait waits for the up-track's RTCP readers; call it after the publisher's PeerConnection is
// closed.
func (u *UpTrack) Wait() { u.wg.Wait() }

// keyframeRequester sends PLIs for the forwarded layer through a KeyframeThrottle.
type keyframeRequester struct {
	mu        sync.Mutex
	throttle  KeyframeThrottle
	pending   atomic.Bool // throttle.Pending(), readable without mu
	ssrc      uint32
	writeRTCP func([]rtcp.Packet) error
}

func (k *keyframeRequester) setTarget(ssrc uint32, write func([]rtcp.Packet) error) {
	k.mu.Lock()
	k.ssrc, k.writeRTCP = ssrc, write
	k.mu.Unlock()
}

func (k *keyframeRequester) request(now time.Time) {
	k.mu.Lock()
	send := k.writeRTCP != nil && k.throttle.Request(now)
	k.pending.Store(k.throttle.Pending())
	ssrc, write := k.ssrc, k.writeRTCP
	k.mu.Unlock()
	if send {
		write([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// tick sends a request that the throttle held back, once its interval is over.
func (k *keyframeRequester) tick(now time.Time) {
	if !k.pending.Load() { // per packet: no lock unless a request is being held back
		return
	}
	k.mu.Lock()
	send := k.writeRTCP != nil && k.throttle.Due(now)
	k.pending.Store(k.throttle.Pending())
	ssrc, write := k.ssrc, k.writeRTCP
	k.mu.Unlock()
	if send {
		write([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}
