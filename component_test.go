package jellyfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

var testOpus = webrtc.RTPCodecParameters{PayloadType: 111,
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}

// source is a component publishing one audio track; it sends a packet whenever told to and
// ends (or fails) when told to.
type source struct {
	send  chan int
	end   chan error
	track chan *LocalTrack
}

func newSource() *source {
	return &source{send: make(chan int), end: make(chan error, 1), track: make(chan *LocalTrack, 1)}
}

func (s *source) Run(ctx context.Context, m *ComponentMember) error {
	t, err := m.Publish(TrackOptions{Kind: TrackTypeAudio, Codec: testOpus, Metadata: json.RawMessage(`{"k":1}`)})
	if err != nil {
		return err
	}
	s.track <- t
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.end:
			return err
		case n := <-s.send:
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(n), Timestamp: uint32(960 * n), SSRC: 7}, Payload: []byte{0xfc, byte(n)}}
			if err := t.WriteRTP(p); err != nil {
				return err
			}
		}
	}
}

// sink is a TrackSink component recording what it receives.
type sink struct {
	mode SubscribeMode

	mu      sync.Mutex
	added   []string
	removed []string
	got     map[string][]byte // track id -> second payload byte of each packet
	ran     chan struct{}
}

func newSink(mode SubscribeMode) *sink {
	return &sink{mode: mode, got: map[string][]byte{}, ran: make(chan struct{})}
}

func (s *sink) Run(ctx context.Context, m *ComponentMember) error {
	<-ctx.Done()
	close(s.ran)
	return nil
}

func (s *sink) SubscribeMode() SubscribeMode { return s.mode }
func (s *sink) Properties() map[string]any   { return map[string]any{"subscribeMode": string(s.mode)} }
func (s *sink) RemoveTrack(t *SinkTrack) {
	s.mu.Lock()
	s.removed = append(s.removed, t.ID)
	s.mu.Unlock()
}
func (s *sink) snapshot(id string) (n int, last byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.got[id]
	if len(b) == 0 {
		return 0, 0
	}
	return len(b), b[len(b)-1]
}

func (s *sink) AddTrack(t *SinkTrack) func(h *rtp.Header, payload []byte) {
	s.mu.Lock()
	s.added = append(s.added, t.ID)
	s.mu.Unlock()
	return func(h *rtp.Header, payload []byte) {
		s.mu.Lock()
		s.got[t.ID] = append(s.got[t.ID], payload[1])
		s.mu.Unlock()
	}
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestComponentPublishToSink(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{})
	sub := e.Subscribe(64)
	defer sub.Close()

	snk := newSink(SubscribeAuto)
	sm, err := r.StartComponent("sink", snk)
	if err != nil {
		t.Fatal(err)
	}
	src := newSource()
	srcm, err := r.StartComponent("source", src)
	if err != nil {
		t.Fatal(err)
	}
	track := <-src.track
	if got := srcm.Info().Tracks; len(got) != 1 || got[0].ID != track.ID() || string(got[0].Metadata) != `{"k":1}` {
		t.Fatalf("source tracks: got %+v", got)
	}
	waitFor(t, "the sink to be offered the track", func() bool { snk.mu.Lock(); defer snk.mu.Unlock(); return len(snk.added) == 1 })
	// The sink's down-track is created on its loop after AddTrack: keep sending until packets arrive.
	n := 0
	waitFor(t, "packets at the sink", func() bool { n++; src.send <- n; c, _ := snk.snapshot(track.ID()); return c >= 3 })
	waitFor(t, "the last packet sent at the sink", func() bool { _, last := snk.snapshot(track.ID()); return last == byte(n) })
	if p := sm.Info().Properties; p["subscribeMode"] != "auto" {
		t.Fatalf("properties: got %v", p)
	}

	// The source finishing quietly: TrackRemoved, the sink is told, the component is gone.
	src.end <- nil
	waitFor(t, "the source to leave", func() bool { _, err := r.Component(srcm.ID()); return errors.Is(err, ErrComponentNotFound) })
	waitFor(t, "RemoveTrack at the sink", func() bool { snk.mu.Lock(); defer snk.mu.Unlock(); return len(snk.removed) == 1 })
	var evs []string
	for _, ev := range drain(sub) {
		evs = append(evs, ev)
	}
	want := []string{"jellyfish.TrackAdded " + r.ID(), "jellyfish.TrackRemoved " + r.ID()}
	equalEvents(t, evs, want)

	if err := r.RemoveComponent(sm.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-snk.ran:
	default:
		t.Fatal("RemoveComponent returned before the component's Run")
	}
	if err := r.RemoveComponent(sm.ID()); !errors.Is(err, ErrComponentNotFound) {
		t.Fatalf("second RemoveComponent: got %v, want ErrComponentNotFound", err)
	}
}

func TestComponentCrash(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{})
	sub := e.Subscribe(64)
	defer sub.Close()
	src := newSource()
	m, err := r.StartComponent("source", src)
	if err != nil {
		t.Fatal(err)
	}
	<-src.track
	src.end <- fmt.Errorf("camera on fire")
	waitFor(t, "the crashed component to leave", func() bool { _, err := r.Component(m.ID()); return err != nil })
	equalEvents(t, drain(sub), []string{"jellyfish.TrackAdded " + r.ID(), "jellyfish.TrackRemoved " + r.ID(), "jellyfish.ComponentCrashed " + r.ID()})
}

func TestComponentManualSubscribe(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{})
	src := newSource()
	srcm, _ := r.StartComponent("source", src)
	track := <-src.track
	snk := newSink(SubscribeManual)
	sm, _ := r.StartComponent("sink", snk)
	src.send <- 1
	if err := r.SubscribeComponent(srcm.ID(), []string{"x"}); !errors.Is(err, ErrSubscribeNotSupported) {
		t.Fatalf("subscribing a source: got %v, want ErrSubscribeNotSupported", err)
	}
	snk.mu.Lock()
	offered := len(snk.added)
	snk.mu.Unlock()
	if offered != 0 {
		t.Fatalf("manual sink was offered %d tracks before subscribing", offered)
	}
	if err := r.SubscribeComponent(sm.ID(), []string{srcm.ID(), "nobody"}); err != nil {
		t.Fatal(err)
	}
	n := 1
	waitFor(t, "packets at the manual sink", func() bool { n++; src.send <- n; c, _ := snk.snapshot(track.ID()); return c >= 1 })

	auto := newSink(SubscribeAuto)
	am, _ := r.StartComponent("sink", auto)
	if err := r.SubscribeComponent(am.ID(), nil); !errors.Is(err, ErrAutoSubscribe) {
		t.Fatalf("subscribing an auto sink: got %v, want ErrAutoSubscribe", err)
	}
	if err := r.SubscribeComponent("nope", nil); !errors.Is(err, ErrComponentNotFound) {
		t.Fatalf("got %v, want ErrComponentNotFound", err)
	}
}

func TestComponentsStopWithRoomAndEngine(t *testing.T) {
	e, err := New(Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := e.CreateRoom(RoomConfig{})
	r2, _ := e.CreateRoom(RoomConfig{})
	s1, s2 := newSink(SubscribeAuto), newSink(SubscribeAuto)
	src := newSource()
	r1.StartComponent("sink", s1)
	r1.StartComponent("source", src)
	<-src.track
	r2.StartComponent("sink", s2)
	uploaded := make(chan struct{})
	m, _ := r2.StartComponent("sink", newSink(SubscribeAuto))
	m.Go(func() { time.Sleep(50 * time.Millisecond); close(uploaded) })

	if err := e.DeleteRoom(r1.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s1.ran:
	default:
		t.Fatal("DeleteRoom returned before its components stopped")
	}
	e.Close()
	select {
	case <-s2.ran:
	default:
		t.Fatal("Close returned before the components stopped")
	}
	select {
	case <-uploaded:
	default:
		t.Fatal("Close returned before the component's background work")
	}
	if _, err := r2.StartComponent("sink", newSink(SubscribeAuto)); !errors.Is(err, ErrRoomNotFound) {
		t.Fatalf("StartComponent in a deleted room: got %v, want ErrRoomNotFound", err)
	}
}

func TestAddComponentFactories(t *testing.T) {
	var gotOpts string
	e := newTestEngine(t, Config{ComponentFactories: map[ComponentType]ComponentFactory{
		ComponentFile: func(r *Room, options json.RawMessage) (Component, error) {
			gotOpts = string(options)
			if string(options) == `{"bad":1}` {
				return nil, InvalidOption("Invalid file path")
			}
			return newSink(SubscribeAuto), nil
		},
	}})
	r := mustCreateRoom(t, e, RoomConfig{})
	var verr *ValidationError
	if _, err := r.AddComponent(ComponentOptions{Type: ComponentFile, Options: json.RawMessage(`{"bad":1}`)}); !errors.As(err, &verr) || verr.Msg != "Invalid file path" {
		t.Fatalf("got %v, want the factory's ValidationError", err)
	}
	m, err := r.AddComponent(ComponentOptions{Type: ComponentFile, Options: json.RawMessage(`{"ok":1}`)})
	if err != nil || gotOpts != `{"ok":1}` || m.Type() != ComponentFile {
		t.Fatalf("got %v (options %s)", err, gotOpts)
	}
	if _, err := r.AddComponent(ComponentOptions{Type: ComponentHLS}); !errors.Is(err, ErrUnsupportedComponentType) {
		t.Fatalf("no factory: got %v, want ErrUnsupportedComponentType", err)
	}
	if _, err := r.AddComponent(ComponentOptions{Type: "camera"}); !errors.Is(err, ErrInvalidComponentType) {
		t.Fatalf("unknown type: got %v, want ErrInvalidComponentType", err)
	}
	if got := r.Info().Components; len(got) != 1 || got[0].ID != m.ID() {
		t.Fatalf("room components: got %+v", got)
	}
}
