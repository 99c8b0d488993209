package clientsdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"go.uber.org/goleak"

	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 15 * time.Second

// nextOf returns the next event of type T, skipping (and logging) others.
func nextOf[T clientsdk.Event](t testing.TB, c *clientsdk.Client) T {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				var zero T
				t.Fatalf("events closed while waiting for %T", zero)
			}
			if v, ok := ev.(T); ok {
				return v
			}
			t.Logf("skipping event %#v", ev)
		case <-deadline:
			var zero T
			t.Fatalf("timed out waiting for %T", zero)
		}
	}
}

// gotOf returns the next client event the fake server received that is a T and satisfies ok.
func gotOf[T wire.ClientEvent](t testing.TB, fs *fakeServer, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev := <-fs.got:
			if v, is := ev.(T); is && (ok == nil || ok(v)) {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("fake server: timed out waiting for %T", zero)
		}
	}
}

// reader reads a remote track until it ends, counting RTP packets.
type reader struct {
	packets atomic.Int64
	first   chan struct{} // closed at the first packet
	enough  chan struct{} // closed at enoughPackets packets
	tick    chan struct{} // signalled (cap 1) after every packet
	done    chan struct{}
}

// waitFor waits until at least n packets were read.
func (r *reader) waitFor(t testing.TB, n int64, what string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for r.packets.Load() < n {
		select {
		case <-r.tick:
		case <-r.done:
			t.Fatalf("%s: track ended after %d packets, want %d", what, r.packets.Load(), n)
		case <-deadline:
			t.Fatalf("%s: %d packets, want %d", what, r.packets.Load(), n)
		}
	}
}

// enoughPackets is about one second of 50 packets/s.
const enoughPackets = 50

func readTrack(t testing.TB, c *clientsdk.Client, remote *webrtc.TrackRemote) *reader {
	r := &reader{first: make(chan struct{}), enough: make(chan struct{}),
		tick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			if _, _, err := remote.ReadRTP(); err != nil {
				return
			}
			switch r.packets.Add(1) {
			case 1:
				close(r.first)
			case enoughPackets:
				close(r.enough)
			}
			select {
			case r.tick <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		c.Leave() // idempotent; ends the read
		<-r.done
	})
	return r
}

func waitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// writeSamples writes samples to track every 20 ms until the test ends.
func writeSamples(t testing.TB, track *webrtc.TrackLocalStaticSample, data []byte) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = track.WriteSample(media.Sample{Data: data, Duration: 20 * time.Millisecond})
			}
		}
	})
	t.Cleanup(func() { close(stop); wg.Wait() })
}

func join(t testing.TB, ctx context.Context, cfg clientsdk.Config) *clientsdk.Client {
	t.Helper()
	c, err := clientsdk.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Leave(); err != nil {
			t.Errorf("Leave: %v", err)
		}
	})
	return c
}

var opusFrame = []byte{0xfc, 0xff, 0xfe} // a valid (silent) Opus packet

// TestFakeServerSession drives the whole protocol against a scripted server: join with a room
// that has a video track, receive it, publish audio, metadata updates, removal, leave.
func TestFakeServerSession(t *testing.T) {
	fs := newFakeServer(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	c := join(t, ctx, clientsdk.Config{URL: fs.url(), Token: "good", Metadata: map[string]string{"name": "go"}})
	if got := c.ID(); got != fakePeerID {
		t.Fatalf("ID() = %q, want %q", got, fakePeerID)
	}
	connect := gotOf[wire.Connect](t, fs, nil)
	if string(connect.Metadata) != `{"name":"go"}` {
		t.Errorf("connect metadata = %s, want {\"name\":\"go\"}", connect.Metadata)
	}
	eps := c.Endpoints()
	if ep, ok := eps["srv"]; !ok || ep.Type != "webrtc" || string(ep.Tracks["srv:cam"].Metadata) != `{"source":"camera"}` {
		t.Fatalf("Endpoints() = %+v, want srv with track srv:cam", eps)
	}
	if ea := nextOf[clientsdk.EndpointAdded](t, c); ea.ID != "srv" || string(ea.Metadata) != `{"name":"srv"}` {
		t.Errorf("EndpointAdded = %+v", ea)
	}
	if ta := nextOf[clientsdk.TrackAdded](t, c); ta.EndpointID != "srv" || ta.TrackID != "srv:cam" || ta.Simulcast.Enabled {
		t.Errorf("TrackAdded = %+v", ta)
	}
	ready := nextOf[clientsdk.TrackReady](t, c)
	if ready.TrackID != "srv:cam" || ready.EndpointID != "srv" || ready.Remote.Kind() != webrtc.RTPCodecTypeVideo {
		t.Fatalf("TrackReady = %+v", ready)
	}
	cam := readTrack(t, c, ready.Remote)
	waitClosed(t, cam.first, "video packets from the server")
	if !c.Endpoints()["srv"].Tracks["srv:cam"].Ready {
		t.Error("Endpoints: srv:cam not Ready after TrackReady")
	}

	// Publish audio.
	mic, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "go")
	if err != nil {
		t.Fatal(err)
	}
	writeSamples(t, mic, opusFrame)
	id, err := c.Publish(ctx, mic, map[string]string{"source": "mic"})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if !strings.HasPrefix(id, fakePeerID+":") || len(id) != len(fakePeerID)+1+36 {
		t.Errorf("track id = %q, want %s:<uuid>", id, fakePeerID)
	}
	offer := gotOf(t, fs, func(o wire.SDPOffer) bool { return len(o.MidToTrackID) > 0 })
	var mid string
	for m, tid := range offer.MidToTrackID {
		if tid == id {
			mid = m
		}
	}
	if mid == "" {
		t.Fatalf("sdpOffer.midToTrackId = %v, want an entry for %s", offer.MidToTrackID, id)
	}
	if got := string(offer.TrackIDToMetadata[id]); got != `{"source":"mic"}` {
		t.Errorf("trackIdToTrackMetadata[%s] = %s", id, got)
	}
	if got := string(offer.TrackIDToBitrates[id]); got != "50000" {
		t.Errorf("trackIdToTrackBitrates[%s] = %s, want 50000", id, got)
	}
	select {
	case got := <-fs.published:
		if got != mid {
			t.Errorf("server received media on mid %q, want %q", got, mid)
		}
	case <-time.After(waitTimeout):
		t.Fatal("server received no media from the published track")
	}

	// Metadata.
	if err := c.UpdateTrackMetadata(id, map[string]string{"source": "screen"}); err != nil {
		t.Fatalf("UpdateTrackMetadata: %v", err)
	}
	if u := gotOf[wire.UpdateTrackMetadata](t, fs, nil); u.TrackID != id || string(u.TrackMetadata) != `{"source":"screen"}` {
		t.Errorf("updateTrackMetadata = %+v", u)
	}
	if err := c.UpdateTrackMetadata("nope", nil); !errors.Is(err, clientsdk.ErrUnknownTrack) {
		t.Errorf("UpdateTrackMetadata(unknown) = %v, want ErrUnknownTrack", err)
	}
	if err := c.UpdateMetadata(map[string]int{"n": 2}); err != nil {
		t.Fatalf("UpdateMetadata: %v", err)
	}
	if u := gotOf[wire.UpdateEndpointMetadata](t, fs, nil); string(u.Metadata) != `{"n":2}` {
		t.Errorf("updateEndpointMetadata = %s", u.Metadata)
	}

	// Server events, including junk and events about unknown ids, in order.
	fs.do(func(ss *fakeSession) {
		ss.sendRaw(`not json`)
		ss.sendRaw(`{"type":"somethingNew","data":{}}`)
		ss.sendRaw(`{"type":"tracksAdded","data":{"endpointId":"srv","tracks":[]}}`)
		ss.send(wire.VadNotification{TrackID: "ghost", Status: "speech"})
		ss.send(wire.TrackUpdated{EndpointID: "ghost", TrackID: "ghost:t", Metadata: json.RawMessage(`1`)})
		ss.send(wire.EndpointUpdated{ID: "ghost"})
		ss.send(wire.EndpointRemoved{ID: "ghost"})
		ss.send(wire.TrackUpdated{EndpointID: "srv", TrackID: "srv:cam", Metadata: json.RawMessage(`{"source":"screen"}`)})
		ss.send(wire.VadNotification{TrackID: "srv:cam", Status: "speech"})
		ss.send(wire.EndpointUpdated{ID: "srv", Metadata: json.RawMessage(`{"name":"srv2"}`)})
	})
	if u := nextOf[clientsdk.TrackUpdated](t, c); u.TrackID != "srv:cam" || string(u.Metadata) != `{"source":"screen"}` {
		t.Errorf("TrackUpdated = %+v", u)
	}
	if v := nextOf[clientsdk.VadNotification](t, c); v.TrackID != "srv:cam" || v.Status != "speech" {
		t.Errorf("VadNotification = %+v", v)
	}
	if u := nextOf[clientsdk.EndpointUpdated](t, c); u.ID != "srv" || string(u.Metadata) != `{"name":"srv2"}` {
		t.Errorf("EndpointUpdated = %+v", u)
	}

	// The server removes its track: tracksRemoved then a round.
	fs.do(func(ss *fakeSession) { ss.removeCam() })
	if r := nextOf[clientsdk.TrackRemoved](t, c); r.TrackID != "srv:cam" || r.EndpointID != "srv" {
		t.Errorf("TrackRemoved = %+v", r)
	}
	// The round after tracksRemoved is an ICE restart.
	gotOf(t, fs, func(o wire.SDPOffer) bool { return strings.Contains(o.Offer.SDP, "a=ice-ufrag") })

	// Unpublish: the next offer no longer maps the track.
	if err := c.Unpublish(ctx, id); err != nil {
		t.Fatalf("Unpublish: %v", err)
	}
	gotOf(t, fs, func(o wire.SDPOffer) bool { return len(o.MidToTrackID) == 0 })
	if err := c.Unpublish(ctx, id); !errors.Is(err, clientsdk.ErrUnknownTrack) {
		t.Errorf("second Unpublish = %v, want ErrUnknownTrack", err)
	}

	fs.do(func(ss *fakeSession) { ss.send(wire.EndpointRemoved{ID: "srv"}) })
	if r := nextOf[clientsdk.EndpointRemoved](t, c); r.ID != "srv" {
		t.Errorf("EndpointRemoved = %+v", r)
	}
	if n := len(c.Endpoints()); n != 0 {
		t.Errorf("Endpoints() has %d entries after EndpointRemoved, want 0", n)
	}

	if err := c.Leave(); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	gotOf[wire.Disconnect](t, fs, nil)
	waitClosed(t, cam.done, "the remote track to end after Leave")
	for range c.Events() { // closed by Leave
	}
	if _, err := c.Publish(ctx, mic, nil); !errors.Is(err, clientsdk.ErrClosed) {
		t.Errorf("Publish after Leave = %v, want ErrClosed", err)
	}
}

// TestPublishFirstCreatesPeerConnection: in an empty room the PeerConnection is created by the
// offerData answering the first renegotiateTracks; the track is added to it then.
func TestPublishFirstCreatesPeerConnection(t *testing.T) {
	fs := newFakeServer(t, true)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := join(t, ctx, clientsdk.Config{URL: "ws://" + fs.url(), Token: "good"})
	if n := len(c.Endpoints()); n != 0 {
		t.Fatalf("Endpoints() = %d entries, want 0", n)
	}
	vid, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "go")
	if err != nil {
		t.Fatal(err)
	}
	writeSamples(t, vid, vp8Keyframe)
	id, err := c.Publish(ctx, vid, nil)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	offer := gotOf(t, fs, func(o wire.SDPOffer) bool { return len(o.MidToTrackID) > 0 })
	if _, ok := offer.TrackIDToMetadata[id]; ok {
		t.Errorf("trackIdToTrackMetadata has a key for a track without metadata: %v", offer.TrackIDToMetadata)
	}
	if got := string(offer.TrackIDToBitrates[id]); got != "2500000" {
		t.Errorf("trackIdToTrackBitrates[%s] = %s, want 2500000", id, got)
	}
	if strings.Contains(offer.Offer.SDP, "a=recvonly") {
		t.Errorf("offer has recvonly m-lines with tracksTypes 0")
	}
	select {
	case <-fs.published:
	case <-time.After(waitTimeout):
		t.Fatal("server received no media")
	}
	// A second publication is a second round; the second offer is an ICE restart.
	aud, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "a", "go")
	if err != nil {
		t.Fatal(err)
	}
	writeSamples(t, aud, opusFrame)
	id2, err := c.Publish(ctx, aud, "mic")
	if err != nil {
		t.Fatalf("second Publish: %v", err)
	}
	offer2 := gotOf(t, fs, func(o wire.SDPOffer) bool { return len(o.MidToTrackID) == 2 })
	if offer2.MidToTrackID[mustMid(t, offer, id)] != id || string(offer2.TrackIDToMetadata[id2]) != `"mic"` {
		t.Errorf("second offer midToTrackId = %v, metadata = %v", offer2.MidToTrackID, offer2.TrackIDToMetadata)
	}
	if ufrag(offer.Offer.SDP) == ufrag(offer2.Offer.SDP) {
		t.Errorf("second offer kept ice-ufrag %q, want an ICE restart", ufrag(offer.Offer.SDP))
	}
}

func mustMid(t testing.TB, o wire.SDPOffer, id string) string {
	t.Helper()
	for m, tid := range o.MidToTrackID {
		if tid == id {
			return m
		}
	}
	t.Fatalf("no mid for %s in %v", id, o.MidToTrackID)
	return ""
}

func ufrag(sdp string) string {
	for line := range strings.SplitSeq(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

func TestJoinAuthError(t *testing.T) {
	fs := newFakeServer(t, false)
	_, err := clientsdk.Join(t.Context(), clientsdk.Config{URL: fs.url(), Token: "bad"})
	if !errors.Is(err, clientsdk.ErrAuth) {
		t.Fatalf("Join(bad token) = %v, want ErrAuth", err)
	}
	var ce *clientsdk.CloseError
	if !errors.As(err, &ce) || ce.Reason != "invalid token" {
		t.Fatalf("Join(bad token) = %v, want a CloseError with reason \"invalid token\"", err)
	}
}

func TestServerClosesSocket(t *testing.T) {
	fs := newFakeServer(t, true)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := join(t, ctx, clientsdk.Config{URL: fs.url(), Token: "good"})
	fs.do(func(ss *fakeSession) { ss.conn.Close(websocket.StatusNormalClosure, "Peer removed") })
	if d := nextOf[clientsdk.Disconnected](t, c); d.Reason != "Peer removed" {
		t.Errorf("Disconnected.Reason = %q, want \"Peer removed\"", d.Reason)
	}
	if err := c.UpdateMetadata(nil); !errors.Is(err, clientsdk.ErrDisconnected) {
		t.Errorf("UpdateMetadata after disconnect = %v, want ErrDisconnected", err)
	}
}
