package rtc

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrLocalOnly is returned by WriteRTP on an up-track whose packets come from a remote
// publisher.
var ErrLocalOnly = errors.New("rtc: WriteRTP on a track read from a PeerConnection")

// maxGOP bounds the packets a local up-track keeps since its last keyframe (about 4 s of
// 4 Mbit/s video); a longer group of pictures is not replayed.
const maxGOP = 4096

// replayInterval spaces the replays of the last GOP to one subscriber.
const replayInterval = 200 * time.Millisecond

// localSource is the state of an up-track fed by WriteRTP (a component: file, RTSP camera)
// rather than by a PeerConnection. Such a source cannot make a keyframe on request, so the
// track keeps the packets since the last keyframe and replays them to a subscriber that
// starts (a late joiner), instead of leaving it waiting for the source's next keyframe.
type localSource struct {
	mu       sync.Mutex // orders live packets and replays for every subscriber
	gop      []*packet  // since the last keyframe; nil when unknown or too long
	keyStart keyframeStart
}

// NewLocalUpTrack returns an up-track whose packets the caller writes with WriteRTP.
func NewLocalUpTrack(id string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters, log *slog.Logger) *UpTrack {
	u := NewUpTrack(id, kind, codec, log)
	u.local = &localSource{}
	return u
}

// WriteRTP publishes one packet of a local up-track to its subscribers. The packet is copied;
// extensions are dropped (their ids mean nothing to subscribers).
func (u *UpTrack) WriteRTP(pkt *rtp.Packet) error {
	if u.local == nil {
		return ErrLocalOnly
	}
	h := pkt.Header
	h.Extension, h.Extensions, h.ExtensionProfile = false, nil, 0
	h.Padding, h.PaddingSize = false, 0
	raw, err := (&rtp.Packet{Header: h, Payload: pkt.Payload}).Marshal()
	if err != nil {
		return err
	}
	p := &packet{header: h, payload: raw[len(raw)-len(pkt.Payload):], arrival: time.Now()}
	if u.kind == webrtc.RTPCodecTypeVideo {
		p.keyframe = IsKeyframe(u.codec.MimeType, p.payload)
	}
	u.packets.Add(1)
	u.bytes.Add(uint64(len(raw)))
	u.cache.Add(h.SequenceNumber, raw)

	l := u.local
	l.mu.Lock()
	defer l.mu.Unlock()
	if u.kind == webrtc.RTPCodecTypeVideo {
		p.keyframe = p.keyframe && l.keyStart.first(h.Timestamp)
		switch {
		case p.keyframe:
			l.gop = append(l.gop[:0:0], p) // a new group of pictures
		case l.gop != nil && len(l.gop) < maxGOP:
			l.gop = append(l.gop, p)
		default:
			l.gop = nil
		}
	}
	u.forward(p)
	return nil
}

// replayTo gives a down-track that has never sent anything the packets since the last
// keyframe, so that it starts now rather than at the source's next keyframe.
func (l *localSource) replayTo(d *DownTrack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.gop) == 0 || !l.gop[0].keyframe {
		return
	}
	select {
	case d.queue <- &packet{batch: append([]*packet(nil), l.gop...)}:
	default:
		d.replayAt.Store(0) // congested: try again on the next request
	}
}
