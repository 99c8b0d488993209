package file_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/component/file"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
	"github.com/jellyfish-go/jellyfish/internal/testserver"
)

// env is a server whose engine plays files from a fresh sources directory.
type env struct {
	t      *testing.T
	log    *slog.Logger
	srv    *testserver.Server
	dir    string // the sources directory
	events *recorder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	level := slog.LevelInfo
	if os.Getenv("JF_FILE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := testlog.New(t, level)
	base, dir := sourcesDir(t)
	srv := testserver.StartWith(t, log, testserver.Options{
		ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{jellyfish.ComponentFile: file.Factory(base)},
		ResourcesPath:      base,
	})
	sub := srv.Engine.Subscribe(10000)
	t.Cleanup(sub.Close)
	return &env{t: t, log: log, srv: srv, dir: dir, events: &recorder{sub: sub}}
}

func (e *env) room(codec jellyfish.VideoCodec) *jellyfish.Room {
	e.t.Helper()
	r, err := e.srv.Engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: codec})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) add(r *jellyfish.Room, options string) *jellyfish.ComponentMember {
	e.t.Helper()
	c, err := r.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentFile, Options: json.RawMessage(options)})
	if err != nil {
		e.t.Fatalf("AddComponent(%s): %v", options, err)
	}
	return c
}

// recorder reads the engine's events on the test goroutine.
type recorder struct {
	sub  *jellyfish.Subscription
	seen []jellyfish.Event
}

// waitFor reads events until one matches and returns it.
func (r *recorder) waitFor(t *testing.T, what string, match func(jellyfish.Event) bool) jellyfish.Event {
	t.Helper()
	for _, ev := range r.seen {
		if match(ev) {
			return ev
		}
	}
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-r.sub.Events():
			if !ok {
				t.Fatalf("event subscription ended (%v) waiting for %s", r.sub.Err(), what)
			}
			r.seen = append(r.seen, ev)
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; events: %s", what, r.describe())
		}
	}
}

// drain records the events already delivered, without waiting.
func (r *recorder) drain() {
	for {
		select {
		case ev, ok := <-r.sub.Events():
			if !ok {
				return
			}
			r.seen = append(r.seen, ev)
		default:
			return
		}
	}
}

func (r *recorder) describe() string {
	var b bytes.Buffer
	for _, ev := range r.seen {
		fmt.Fprintf(&b, "\n\t%T%+v", ev, ev)
	}
	return b.String()
}

// trackRemoved waits for the TrackRemoved of component id's track.
func (r *recorder) trackRemoved(t *testing.T, id string) jellyfish.TrackRemoved {
	t.Helper()
	return r.waitFor(t, "TrackRemoved of "+id, func(ev jellyfish.Event) bool {
		tr, ok := ev.(jellyfish.TrackRemoved)
		return ok && tr.ComponentID == id
	}).(jellyfish.TrackRemoved)
}

// noCrash fails if component id crashed, among the events delivered so far. ComponentCrashed
// is published under the same room lock as the component's TrackRemoved, so after that one it
// is already here.
func (r *recorder) noCrash(t *testing.T, id string) {
	t.Helper()
	r.drain()
	for _, ev := range r.seen {
		if c, ok := ev.(jellyfish.ComponentCrashed); ok && c.ComponentID == id {
			t.Errorf("ComponentCrashed for %s; events: %s", id, r.describe())
		}
	}
}

// viewer is a clientsdk peer that records its events and the packets of its remote tracks.
type viewer struct {
	*clientsdk.Client
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	events  []clientsdk.Event
	tracks  map[string]*received
	wg      sync.WaitGroup
}

// received is a remote track; guarded by viewer.mu.
type received struct {
	endpoint string
	mime     string
	pkts     []*rtp.Packet
	arrivals []time.Time
	ended    bool
}

// join adds a peer to r and joins it; it leaves at the test's cleanup.
func (e *env) join(r *jellyfish.Room) *viewer {
	e.t.Helper()
	_, token, err := r.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := clientsdk.Join(e.t.Context(), clientsdk.Config{URL: e.srv.PeerURL, Token: token, Logger: e.log.With("side", "viewer")})
	if err != nil {
		e.t.Fatal(err)
	}
	v := &viewer{Client: c, changed: make(chan struct{}), tracks: map[string]*received{}}
	v.wg.Go(v.drain)
	e.t.Cleanup(func() {
		v.Leave()
		v.wg.Wait()
	})
	return v
}

func (v *viewer) changedUnlocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

func (v *viewer) drain() {
	for ev := range v.Events() { // closed by Leave
		v.mu.Lock()
		v.events = append(v.events, ev)
		if r, ok := ev.(clientsdk.TrackReady); ok {
			tr := &received{endpoint: r.EndpointID, mime: r.Remote.Codec().MimeType}
			v.tracks[r.TrackID] = tr
			v.wg.Go(func() { v.read(r, tr) })
		}
		v.changedUnlocked()
		v.mu.Unlock()
	}
}

func (v *viewer) read(r clientsdk.TrackReady, tr *received) {
	for {
		pkt, _, err := r.Remote.ReadRTP()
		now := time.Now()
		v.mu.Lock()
		if err != nil {
			tr.ended = true
		} else {
			tr.pkts = append(tr.pkts, pkt)
			tr.arrivals = append(tr.arrivals, now)
		}
		v.changedUnlocked()
		v.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// waitUntil waits until cond, run with v.mu held after every change, is true.
func (v *viewer) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		v.mu.Lock()
		ok, ch := cond(), v.changed
		v.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			v.mu.Lock()
			defer v.mu.Unlock()
			t.Fatalf("viewer: timed out waiting for %s; events %+v", what, v.events)
		}
	}
}

// trackOf waits for the TrackReady of endpoint's track and returns the track id.
func (v *viewer) trackOf(t *testing.T, endpoint string) string {
	t.Helper()
	var id string
	v.waitUntil(t, "a track of "+endpoint, func() bool {
		for tid, tr := range v.tracks {
			if tr.endpoint == endpoint {
				id = tid
				return true
			}
		}
		return false
	})
	return id
}

// removed waits until the track was announced removed and its reader ended, and returns a copy.
func (v *viewer) removed(t *testing.T, id string) received {
	t.Helper()
	v.waitUntil(t, "the removal of "+id, func() bool {
		gone := false
		for _, ev := range v.events {
			if tr, ok := ev.(clientsdk.TrackRemoved); ok && tr.TrackID == id {
				gone = true
			}
		}
		return gone && v.tracks[id].ended
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	return *v.tracks[id]
}

// frame is an H.264 access unit put back together from RTP.
type frame struct {
	ts      uint32
	nalus   [][]byte
	arrival time.Time
}

// depacketize rebuilds the frames of an H.264 track (in arrival order; a frame is the packets
// of one timestamp).
func depacketize(t *testing.T, tr received) []*frame {
	t.Helper()
	var frames []*frame
	var d codecs.H264Packet
	for i, p := range tr.pkts {
		if len(p.Payload)+12 > 1200 {
			t.Errorf("packet %d: %d-byte payload exceeds the 1200-byte MTU", i, len(p.Payload))
		}
		if len(frames) == 0 || frames[len(frames)-1].ts != p.Timestamp {
			frames = append(frames, &frame{ts: p.Timestamp, arrival: tr.arrivals[i]})
		}
		out, err := d.Unmarshal(p.Payload)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		f := frames[len(frames)-1]
		for _, n := range bytes.Split(out, []byte{0, 0, 0, 1}) {
			if len(n) > 0 {
				f.nalus = append(f.nalus, n)
			}
		}
	}
	return frames
}

// types lists the NAL unit types of a frame.
func (f *frame) types() []byte {
	var out []byte
	for _, n := range f.nalus {
		out = append(out, n[0]&0x1f)
	}
	return out
}

// sent is what the component sends of an access unit: its NAL units but AUD and filler data,
// which the RTP payloader drops.
func sent(au []byte) [][]byte {
	var out [][]byte
	for _, n := range bytes.Split(au, []byte{0, 0, 0, 1}) {
		if len(n) > 0 && n[0]&0x1f != 9 && n[0]&0x1f != 12 {
			out = append(out, n)
		}
	}
	return out
}
