package rtsp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/component/rtsp"
	"github.com/jellyfish-go/jellyfish/internal/testlog"
	"github.com/jellyfish-go/jellyfish/internal/testserver"
)

// waitTimeout bounds every wait; generous for two slow cores under -race.
const waitTimeout = 20 * time.Second

func startServer(t *testing.T) *testserver.Server {
	t.Helper()
	log := testlog.New(t, slog.LevelInfo)
	return testserver.StartWith(t, log, testserver.Options{
		ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{jellyfish.ComponentRTSP: rtsp.Factory()},
	})
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventLog reads an engine's notifications; the test goroutine is its only reader.
type eventLog struct {
	sub  *jellyfish.Subscription
	seen []jellyfish.Event
}

func subscribe(t testing.TB, e *jellyfish.Engine) *eventLog {
	l := &eventLog{sub: e.Subscribe(4096)}
	t.Cleanup(l.sub.Close)
	return l
}

// waitFor returns the first event (from now on) that satisfies ok.
func (l *eventLog) waitFor(t testing.TB, what string, ok func(jellyfish.Event) bool) jellyfish.Event {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, open := <-l.sub.Events():
			if !open {
				t.Fatalf("events ended while waiting for %s: %v", what, l.sub.Err())
			}
			l.seen = append(l.seen, ev)
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s; events: %#v", what, l.seen)
		}
	}
}

// drain takes the events already published and returns every event seen so far.
func (l *eventLog) drain() []jellyfish.Event {
	for {
		select {
		case ev, open := <-l.sub.Events():
			if !open {
				return l.seen
			}
			l.seen = append(l.seen, ev)
		default:
			return l.seen
		}
	}
}

// joinPeer adds a WebRTC peer to room and joins it with the Go client SDK.
func joinPeer(t *testing.T, srv *testserver.Server, room *jellyfish.Room) *clientsdk.Client {
	t.Helper()
	_, token, err := room.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	c, err := clientsdk.Join(ctx, clientsdk.Config{URL: srv.PeerURL, Token: token,
		Logger: testlog.New(t, slog.LevelWarn).With("side", "peer")})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { c.Leave() })
	return c
}

// nextPeerEvent returns the client's next event of type T that satisfies ok.
func nextPeerEvent[T clientsdk.Event](t testing.TB, c *clientsdk.Client, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, open := <-c.Events():
			if !open {
				var zero T
				t.Fatalf("peer events closed while waiting for %T", zero)
			}
			if v, is := ev.(T); is && (ok == nil || ok(v)) {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("peer: timed out waiting for %T", zero)
		}
	}
}

// frame is an access unit as the peer received it.
type frame struct {
	types []uint8 // NAL unit types, in order
}

// idr reports whether the frame holds an IDR slice, and whether SPS and PPS come before it.
func (f frame) idr() (idr, params bool) {
	var sps, pps bool
	for _, t := range f.types {
		switch t {
		case 7:
			sps = true
		case 8:
			pps = true
		case 5:
			return true, sps && pps
		}
	}
	return false, false
}

// receiver reads an H.264 track at a peer: it rebuilds frames (marker bit) and keeps the
// Annex-B stream for ffprobe.
type receiver struct {
	mu         sync.Mutex
	changed    chan struct{} // closed and replaced at every complete frame
	frames     []frame
	maxPayload int
	annexB     bytes.Buffer
	cur        frame
	depack     codecs.H264Packet
	done       chan struct{}
	packets    atomic.Int64
}

func readH264(t *testing.T, c *clientsdk.Client, remote *webrtc.TrackRemote) *receiver {
	r := &receiver{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			r.packets.Add(1)
			r.add(p.Payload, p.Marker)
		}
	}()
	t.Cleanup(func() {
		c.Leave() // idempotent; ends the read
		<-r.done
	})
	return r
}

func (r *receiver) add(payload []byte, marker bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maxPayload = max(r.maxPayload, len(payload))
	if out, err := r.depack.Unmarshal(payload); err == nil {
		r.annexB.Write(out)
	}
	r.cur.types = append(r.cur.types, nalTypes(payload)...)
	if marker {
		r.frames = append(r.frames, r.cur)
		r.cur = frame{}
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

// nalTypes lists the NAL unit types an RTP payload starts (RFC 6184: single, STAP-A, FU-A).
func nalTypes(p []byte) []uint8 {
	if len(p) < 2 {
		return nil
	}
	switch t := p[0] & 0x1f; t {
	case 24:
		var out []uint8
		for i := 1; i+2 < len(p); {
			n := int(binary.BigEndian.Uint16(p[i:]))
			out = append(out, p[i+2]&0x1f)
			i += 2 + n
		}
		return out
	case 28:
		if p[1]&0x80 != 0 {
			return []uint8{p[1] & 0x1f}
		}
		return nil
	default:
		return []uint8{t}
	}
}

// snapshot returns the frames so far and the largest payload.
func (r *receiver) snapshot() ([]frame, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]frame(nil), r.frames...), r.maxPayload
}

// waitFrames waits until at least n frames arrived.
func (r *receiver) waitFrames(t testing.TB, n int, what string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		r.mu.Lock()
		got, ch := len(r.frames), r.changed
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-r.done:
			t.Fatalf("%s: track ended after %d frames, want %d", what, got, n)
		case <-deadline:
			t.Fatalf("%s: %d frames after %v, want %d", what, got, waitTimeout, n)
		}
	}
}

// probe decodes what the peer received with ffprobe and returns the decoded frame count and
// picture size.
func (r *receiver) probe(t testing.TB) (frames, width, height int) {
	t.Helper()
	r.mu.Lock()
	data := bytes.Clone(r.annexB.Bytes())
	r.mu.Unlock()
	path := filepath.Join(t.TempDir(), "received.h264")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var res struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Frames    string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Streams) != 1 || res.Streams[0].CodecName != "h264" {
		t.Fatalf("ffprobe output %s (%v)", out, err)
	}
	s := res.Streams[0]
	n := 0
	for _, c := range s.Frames {
		n = n*10 + int(c-'0')
	}
	return n, s.Width, s.Height
}

// hangUp is a TCP listener that closes every connection at once: a camera address where
// nothing answers RTSP. It counts the connection attempts.
type hangUp struct {
	l        net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
}

func listenHangUp(t testing.TB, port int) *hangUp {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	h := &hangUp{l: l}
	h.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			c.Close()
		}
	})
	t.Cleanup(h.close)
	return h
}

// waitAttempts waits until n connections were made.
func (h *hangUp) waitAttempts(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for h.accepted.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection attempts, want %d", h.accepted.Load(), n)
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, not asserting on time
	}
}

func (h *hangUp) close() {
	h.l.Close()
	h.wg.Wait()
}

// waitUntil polls cond (cheap, lock-protected state of a fake) until it holds.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
