package integration_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/rtc"
)

// recorder is a TrackSink component that keeps the frames of every track it receives.
type recorder struct {
	mu     sync.Mutex
	frames map[string][]int // track id -> frame tags, in order; -2 marks a keyframe start
	codecs map[string]string
	sb     map[string]*frameJoiner
}

func newRecorder() *recorder {
	return &recorder{frames: map[string][]int{}, codecs: map[string]string{}, sb: map[string]*frameJoiner{}}
}

func (r *recorder) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	<-ctx.Done()
	return nil
}

func (r *recorder) SubscribeMode() jellyfish.SubscribeMode { return jellyfish.SubscribeAuto }
func (r *recorder) RemoveTrack(*jellyfish.SinkTrack)       {}

func (r *recorder) AddTrack(t *jellyfish.SinkTrack) func(*rtp.Header, []byte) {
	r.mu.Lock()
	r.codecs[t.ID] = t.Codec.MimeType
	r.mu.Unlock()
	if t.Kind != jellyfish.TrackTypeVideo {
		return nil
	}
	j := &frameJoiner{}
	return func(h *rtp.Header, payload []byte) {
		frame, key, ok := j.push(h, payload)
		if !ok {
			return
		}
		r.mu.Lock()
		if key {
			r.frames[t.ID] = append(r.frames[t.ID], -2)
		}
		r.frames[t.ID] = append(r.frames[t.ID], parseFrameTag(frame))
		r.mu.Unlock()
	}
}

func (r *recorder) snapshot(id string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.frames[id]...)
}

// frameJoiner depacketizes H.264 into Annex-B frames (a frame ends with the marker bit).
type frameJoiner struct {
	dep   codecs.H264Packet
	buf   []byte
	key   bool
	first bool
}

func (j *frameJoiner) push(h *rtp.Header, payload []byte) (frame []byte, key, ok bool) {
	if len(j.buf) == 0 {
		j.key = rtc.IsKeyframe(webrtc.MimeTypeH264, payload)
	}
	out, err := j.dep.Unmarshal(payload)
	if err != nil {
		return nil, false, false
	}
	j.buf = append(j.buf, out...)
	if !h.Marker {
		return nil, false, false
	}
	frame, key = j.buf, j.key
	j.buf = nil
	return frame, key, true
}

// TestPeerToComponent: a WebRTC peer's H.264 reaches a sink component through the SFU, starting
// at a keyframe, frame after frame.
func TestPeerToComponent(t *testing.T) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	rec := newRecorder()
	if _, err := room.StartComponent("recorder", rec); err != nil {
		t.Fatal(err)
	}
	video := newVideoSource(t, h264Codec, sourceOpts{keyEvery: 0})
	a := e.join(t, room, "A", nil, func(c *clientsdk.Config) {
		c.Interceptors = func(r *interceptor.Registry) {
			r.Add(interceptorFactory(func() interceptor.Interceptor { return &pliObserver{onPLI: video.requestKeyframe} }))
		}
	})
	video.start(t)
	id := a.publish(t, e.ctx, video.track, nil)

	deadline := time.Now().Add(waitTimeout)
	for len(rec.snapshot(id)) < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("the component received %v, want 30 frames", rec.snapshot(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := rec.snapshot(id)
	if got[0] != -2 {
		t.Fatalf("first frame at the component is not a keyframe: %v", got[:5])
	}
	prev := -1
	for _, n := range got[1:] {
		if n == -2 {
			continue
		}
		if prev >= 0 && n != prev+1 {
			t.Fatalf("frames at the component are not consecutive: %v", got)
		}
		prev = n
	}
	if video.plis.Load() == 0 {
		t.Error("the publisher got no PLI for the component's subscription")
	}
}

// camera is a component publishing H.264 frames (keyframe every 25th) every frameInterval.
type camera struct{ published chan string }

func (c *camera) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	codec := webrtc.RTPCodecParameters{RTPCodecCapability: h264Codec, PayloadType: 96}
	tr, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: codec})
	if err != nil {
		return err
	}
	c.published <- tr.ID()
	pk := rtp.NewPacketizer(1200, 96, 1234, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	tick := time.NewTicker(frameInterval)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for _, p := range pk.Packetize(h264Frame(n, n%25 == 0, 2000), 90000/50) {
			if err := tr.WriteRTP(p); err != nil {
				return err
			}
		}
	}
}

// TestComponentToPeer: a component's H.264 reaches a peer that joins late, and the peer's first
// frame is a keyframe the component sent before the peer joined (the GOP replay), not one it
// waited for; the peer sees the component as an endpoint of its type.
func TestComponentToPeer(t *testing.T) {
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	cam := &camera{published: make(chan string, 1)}
	m, err := room.StartComponent("camera", cam)
	if err != nil {
		t.Fatal(err)
	}
	id := <-cam.published
	time.Sleep(300 * time.Millisecond) // a keyframe at frame 0, then interframes: join mid-GOP
	b := e.join(t, room, "B", nil, nil)
	ep, ok := b.Endpoints()[m.ID()]
	if !ok || ep.Type != "camera" {
		t.Fatalf("B's endpoints: %+v, want the component %s of type camera", b.Endpoints(), m.ID())
	}
	tr := b.track(t, id)
	if tr.endpoint != m.ID() {
		t.Errorf("track from %s, want %s", tr.endpoint, m.ID())
	}
	b.waitPackets(t, id, 20)
	pkts := b.packets(id)
	if !rtc.IsKeyframe(webrtc.MimeTypeH264, pkts[0].Payload) {
		t.Fatalf("B's first packet is not a keyframe")
	}
	var j frameJoiner
	var frames []int
	for _, p := range pkts {
		if f, _, ok := j.push(&p.Header, p.Payload); ok {
			frames = append(frames, parseFrameTag(f))
		}
	}
	if len(frames) < 2 || frames[0]%25 != 0 {
		t.Fatalf("B's frames %v: want to start at a keyframe (a multiple of 25)", frames)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i] != frames[i-1]+1 {
			t.Fatalf("B's frames are not consecutive: %v", frames)
		}
	}
	if err := room.RemoveComponent(m.ID()); err != nil {
		t.Fatal(err)
	}
	b.waitEvent(t, 0, "the component's endpointRemoved", isEvent(func(ev clientsdk.EndpointRemoved) bool { return ev.ID == m.ID() }))
}
