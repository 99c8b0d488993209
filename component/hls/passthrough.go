package hls

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// keyframeMargin: the passthrough asks for a keyframe when a segment is due within this time
// without one (segments start at keyframes, and WebRTC encoders send few unless asked).
const keyframeMargin = time.Second

// passthrough is the transcoding-free mode: it forwards one video track (H.264) and one audio
// track (Opus) without decoding them. Of the tracks it is offered it takes the first of each
// kind; when that one ends, the next offered one (if any) takes over, starting at a keyframe.
type passthrough struct {
	segment time.Duration
	log     *atomic.Pointer[slog.Logger]

	mu    sync.Mutex
	video []*ptTrack // offered, oldest first; the first is the active one
	audio []*ptTrack
}

// ptTrack is a track the passthrough accepted.
type ptTrack struct {
	st     *jellyfish.SinkTrack
	video  bool
	active atomic.Bool

	// Owned by the track's goroutine.
	on      bool // it was active at its last packet
	dec     *rtph264.Decoder
	waitKey bool
}

func (p *passthrough) run(context.Context, *Component) error { return nil }

func (p *passthrough) audioCodec() codecs.Codec {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.audio) == 0 {
		return nil
	}
	return &codecs.Opus{ChannelCount: max(int(p.audio[0].st.Codec.Channels), 1)}
}

func (p *passthrough) addTrack(c *Component, st *jellyfish.SinkTrack) func(h *rtp.Header, payload []byte) {
	mime := st.Codec.MimeType
	t := &ptTrack{st: st, video: st.Kind == jellyfish.TrackTypeVideo}
	switch {
	case t.video && strings.EqualFold(mime, webrtc.MimeTypeH264):
	case !t.video && strings.EqualFold(mime, webrtc.MimeTypeOpus):
	default:
		p.log.Load().Warn("hls: track not taken (transcode=false takes H.264 and Opus)", "track", st.ID, "codec", mime)
		return nil
	}
	p.mu.Lock()
	list := &p.audio
	if t.video {
		list = &p.video
	}
	*list = append(*list, t)
	first := len(*list) == 1
	t.active.Store(first)
	p.mu.Unlock()
	if first {
		p.log.Load().Info("hls: forwarding track", "track", st.ID, "kind", st.Kind)
	}
	return func(h *rtp.Header, payload []byte) { t.receive(c, h, payload) }
}

func (p *passthrough) removeTrack(st *jellyfish.SinkTrack) {
	p.mu.Lock()
	var next *ptTrack
	for _, list := range []*[]*ptTrack{&p.video, &p.audio} {
		i := slices.IndexFunc(*list, func(t *ptTrack) bool { return t.st == st })
		if i < 0 {
			continue
		}
		*list = slices.Delete(*list, i, i+1)
		if i == 0 && len(*list) > 0 {
			next = (*list)[0]
			next.active.Store(true)
		}
	}
	p.mu.Unlock()
	if next == nil {
		return
	}
	p.log.Load().Info("hls: forwarding the next track", "track", next.st.ID, "kind", next.st.Kind)
	if next.video {
		next.st.RequestKeyframe()
	}
}

// tick asks the forwarded video for a keyframe when a segment is nearly due without one.
func (p *passthrough) tick(sinceKey time.Duration) {
	if sinceKey < p.segment-keyframeMargin {
		return
	}
	p.mu.Lock()
	var t *ptTrack
	if len(p.video) > 0 {
		t = p.video[0]
	}
	p.mu.Unlock()
	if t != nil {
		t.st.RequestKeyframe()
	}
}

// receive runs on the track's goroutine: it depacketizes the active track's packets into
// access units and hands them to Run.
func (t *ptTrack) receive(c *Component, h *rtp.Header, payload []byte) {
	if !t.active.Load() {
		t.on = false
		return
	}
	now := time.Now()
	if !t.on {
		// (Re)activated: start clean, at a keyframe.
		t.on, t.waitKey = true, t.video
		t.dec = &rtph264.Decoder{PacketizationMode: 1}
		if err := t.dec.Init(); err != nil {
			return
		}
	}
	if !t.video {
		if len(payload) > 0 {
			c.send(frame{au: [][]byte{slices.Clone(payload)}, ts: h.Timestamp, track: t.st.ID, arrival: now})
		}
		return
	}
	au, err := t.dec.Decode(&rtp.Packet{Header: *h, Payload: payload})
	switch {
	case errors.Is(err, rtph264.ErrMorePacketsNeeded):
		return
	case err != nil:
		// A lost packet breaks the picture and what refers to it: wait for a keyframe.
		if !t.waitKey {
			t.waitKey = true
			t.st.RequestKeyframe()
		}
		return
	}
	if t.waitKey {
		if !isIDR(au) {
			return
		}
		t.waitKey = false
	}
	// The decoder's NAL units may point into payload, which is only valid during this call.
	owned := make([][]byte, len(au))
	for i, n := range au {
		owned[i] = slices.Clone(n)
	}
	c.send(frame{video: true, au: owned, ts: h.Timestamp, track: t.st.ID, arrival: now})
}
