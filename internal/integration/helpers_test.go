package integration_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/internal/testserver"

	"github.com/jellyfish-go/jellyfish/internal/testlog"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait of these tests. It is generous (the race detector on two cores
// is slow); a passing test never waits for it.
const waitTimeout = 20 * time.Second

// testLogger logs into the test output (shown on failure or with -v): info level, or debug
// with JF_INTEGRATION_DEBUG set.
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("JF_INTEGRATION_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return testlog.New(t, level)
}

// env is one engine served over HTTP on 127.0.0.1.
type env struct {
	t       *testing.T
	log     *slog.Logger
	engine  *jellyfish.Engine
	peerURL string // peer_websocket_url: "127.0.0.1:port/socket/peer/websocket"
	ctx     context.Context
}

// newEnv starts an engine and its server; both are closed by the test's cleanup.
func newEnv(t *testing.T) *env {
	t.Helper()
	log := testLogger(t)
	srv := testserver.Start(t, log)
	ctx, cancel := context.WithTimeout(t.Context(), 2*waitTimeout)
	t.Cleanup(cancel)
	return &env{t: t, log: log, engine: srv.Engine, peerURL: srv.PeerURL, ctx: ctx}
}

func (e *env) room(cfg jellyfish.RoomConfig) *jellyfish.Room {
	e.t.Helper()
	r, err := e.engine.CreateRoom(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// addPeer adds a peer to r and returns its token.
func addPeer(t testing.TB, r *jellyfish.Room) (*jellyfish.Peer, string) {
	t.Helper()
	p, token, err := r.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, token
}

// join adds a peer to r and joins it with a clientsdk client. mod, if not nil, changes the
// client's config. Leave runs at t's cleanup.
func (e *env) join(t testing.TB, r *jellyfish.Room, name string, metadata any, mod func(*clientsdk.Config)) *peer {
	t.Helper()
	p, err := e.tryJoin(e.ctx, r, name, metadata, mod)
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	t.Cleanup(p.leave)
	return p
}

// tryJoin is join without t: usable from other goroutines. The caller must call leave.
func (e *env) tryJoin(ctx context.Context, r *jellyfish.Room, name string, metadata any, mod func(*clientsdk.Config)) (*peer, error) {
	_, token, err := r.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		return nil, err
	}
	cfg := clientsdk.Config{URL: e.peerURL, Token: token, Metadata: metadata, Logger: e.log.With("side", name)}
	if mod != nil {
		mod(&cfg)
	}
	c, err := clientsdk.Join(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return newPeer(name, c), nil
}

// peer wraps a clientsdk client: it records every event and reads every remote track (as a
// client must), counting and keeping its packets.
type peer struct {
	*clientsdk.Client
	name string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change (event, packet, track end)
	events  []clientsdk.Event
	tracks  map[string]*inTrack // by track id, from TrackReady

	wg sync.WaitGroup // the event drainer and the track readers
}

// inTrack is a remote track as one peer receives it. Its fields are guarded by peer.mu.
type inTrack struct {
	id, endpoint string
	remote       *webrtc.TrackRemote
	count        int
	pkts         []*rtp.Packet // the first keepPackets packets, in arrival order
	lastAt       time.Time
	maxGap       time.Duration // longest time between two packets
	ended        bool
}

// keepPackets bounds the packets an inTrack keeps for inspection.
const keepPackets = 1000

func newPeer(name string, c *clientsdk.Client) *peer {
	p := &peer{Client: c, name: name, changed: make(chan struct{}), tracks: map[string]*inTrack{}}
	p.wg.Go(p.drain)
	return p
}

// leave leaves (idempotent) and waits for the peer's goroutines.
func (p *peer) leave() {
	p.Leave()
	p.wg.Wait()
}

// changedUnlocked wakes the waiters; p.mu must be held.
func (p *peer) changedUnlocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *peer) drain() {
	for ev := range p.Events() { // closed by Leave
		p.mu.Lock()
		p.events = append(p.events, ev)
		if r, ok := ev.(clientsdk.TrackReady); ok {
			tr := &inTrack{id: r.TrackID, endpoint: r.EndpointID, remote: r.Remote}
			p.tracks[r.TrackID] = tr
			p.wg.Go(func() { p.read(tr) })
		}
		p.changedUnlocked()
		p.mu.Unlock()
	}
}

// read reads a remote track until it ends (track removed, or the PeerConnection closed).
func (p *peer) read(tr *inTrack) {
	for {
		pkt, _, err := tr.remote.ReadRTP()
		now := time.Now()
		p.mu.Lock()
		if err != nil {
			tr.ended = true
			p.changedUnlocked()
			p.mu.Unlock()
			return
		}
		if tr.count > 0 {
			tr.maxGap = max(tr.maxGap, now.Sub(tr.lastAt))
		}
		tr.lastAt = now
		tr.count++
		if len(tr.pkts) < keepPackets {
			tr.pkts = append(tr.pkts, pkt)
		}
		p.changedUnlocked()
		p.mu.Unlock()
	}
}

// waitUntil waits until cond, evaluated with p.mu held after every change, is true.
func (p *peer) waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := cond()
		ch := p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: timed out waiting for %s; events: %s", p.name, what, p.describe())
		}
	}
}

// describe summarizes the peer's events and tracks for failure messages.
func (p *peer) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ""
	for _, ev := range p.events {
		s += fmt.Sprintf("\n\t%s", eventString(ev))
	}
	for id, tr := range p.tracks {
		s += fmt.Sprintf("\n\ttrack %s: %d packets, ended=%v", id, tr.count, tr.ended)
	}
	return s
}

func eventString(ev clientsdk.Event) string {
	switch e := ev.(type) {
	case clientsdk.TrackReady:
		return fmt.Sprintf("TrackReady{%s %s}", e.EndpointID, e.TrackID)
	case clientsdk.TrackAdded:
		return fmt.Sprintf("TrackAdded{%s %s %s}", e.EndpointID, e.TrackID, e.Metadata)
	}
	return fmt.Sprintf("%T%+v", ev, ev)
}

// waitEvent waits for the first event at index >= from that satisfies match and returns its
// index and the event.
func (p *peer) waitEvent(t testing.TB, from int, what string, match func(clientsdk.Event) bool) (int, clientsdk.Event) {
	t.Helper()
	idx := -1
	p.waitUntil(t, what, func() bool {
		for i := from; i < len(p.events); i++ {
			if match(p.events[i]) {
				idx = i
				return true
			}
		}
		return false
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return idx, p.events[idx]
}

// eventCount returns how many events were recorded so far (a cursor for waitEvent).
func (p *peer) eventCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// eventsSince returns the events recorded at index >= from.
func (p *peer) eventsSince(from int) []clientsdk.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events[from:])
}

// track returns the remote track with the given id once TrackReady was seen.
func (p *peer) track(t testing.TB, id string) *inTrack {
	t.Helper()
	var tr *inTrack
	p.waitUntil(t, "TrackReady for "+id, func() bool { tr = p.tracks[id]; return tr != nil })
	return tr
}

// count returns how many packets of track id were read (0 before TrackReady).
func (p *peer) count(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr := p.tracks[id]; tr != nil {
		return tr.count
	}
	return 0
}

// waitPackets waits until at least n packets of track id were read.
func (p *peer) waitPackets(t testing.TB, id string, n int) {
	t.Helper()
	p.waitUntil(t, fmt.Sprintf("%d packets on %s", n, id), func() bool {
		tr := p.tracks[id]
		return tr != nil && tr.count >= n
	})
}

// waitMore waits until n more packets of track id than now were read: media is flowing.
func (p *peer) waitMore(t testing.TB, id string, n int) {
	t.Helper()
	p.waitPackets(t, id, p.count(id)+n)
}

// packets returns a copy of the kept packets of track id.
func (p *peer) packets(id string) []*rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr := p.tracks[id]; tr != nil {
		return slices.Clone(tr.pkts)
	}
	return nil
}

func isEvent[T clientsdk.Event](match func(T) bool) func(clientsdk.Event) bool {
	return func(ev clientsdk.Event) bool {
		v, ok := ev.(T)
		return ok && (match == nil || match(v))
	}
}

// publish publishes track on p and returns its track id.
func (p *peer) publish(t testing.TB, ctx context.Context, track webrtc.TrackLocal, metadata any) string {
	t.Helper()
	id, err := p.Publish(ctx, track, metadata)
	if err != nil {
		t.Fatalf("%s: publish %s: %v", p.name, track.Kind(), err)
	}
	return id
}
