package integration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// rawPeer is a peer socket driven by hand: it speaks the wire protocol directly, so a test can
// send anything, stop at any step, or vanish.
type rawPeer struct {
	name   string
	conn   *websocket.Conn
	id     string
	events chan wire.ServerEvent // decoded media events; dropped when full
	done   chan struct{}         // closed when the reader ended
	err    error                 // the reader's error; read after done
}

// dialRaw adds a peer to r and authenticates its raw socket. The socket is closed at cleanup.
func (e *env) dialRaw(t testing.TB, r *jellyfish.Room, name string) *rawPeer {
	t.Helper()
	_, token := addPeer(t, r)
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+e.peerURL, nil)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	conn.SetReadLimit(4 << 20)
	rp := &rawPeer{name: name, conn: conn, events: make(chan wire.ServerEvent, 4096), done: make(chan struct{})}
	t.Cleanup(rp.close)
	auth, _ := proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_AuthRequest_{
		AuthRequest: &wire.PeerMessage_AuthRequest{Token: token}}})
	if err := conn.Write(ctx, websocket.MessageBinary, auth); err != nil {
		t.Fatalf("%s: send auth: %v", name, err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("%s: wait for authenticated: %v", name, err)
		}
		var msg wire.PeerMessage
		if proto.Unmarshal(data, &msg) == nil && msg.GetAuthenticated() != nil {
			break
		}
	}
	go rp.read() // owned by rp: close ends it and waits
	return rp
}

func (rp *rawPeer) read() {
	defer close(rp.done)
	for {
		_, data, err := rp.conn.Read(context.Background())
		if err != nil {
			rp.err = err
			return
		}
		var msg wire.PeerMessage
		if proto.Unmarshal(data, &msg) != nil || msg.GetMediaEvent() == nil {
			continue
		}
		ev, err := wire.DecodeServerEvent([]byte(msg.GetMediaEvent().GetData()))
		if err != nil {
			continue
		}
		select {
		case rp.events <- ev:
		default:
		}
	}
}

// close drops the socket at once (no close handshake) and waits for the reader.
func (rp *rawPeer) close() {
	rp.conn.CloseNow()
	<-rp.done
}

// closeStatus waits for the server to end the socket and returns its close status (-1 when
// it ended without a close frame).
func (rp *rawPeer) closeStatus(t testing.TB) websocket.StatusCode {
	t.Helper()
	select {
	case <-rp.done:
	case <-time.After(waitTimeout):
		t.Fatalf("%s: the server did not close the socket", rp.name)
	}
	var ce websocket.CloseError
	if errors.As(rp.err, &ce) {
		return ce.Code
	}
	return -1
}

func (rp *rawPeer) sendFrame(t testing.TB, typ websocket.MessageType, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := rp.conn.Write(ctx, typ, b); err != nil {
		t.Fatalf("%s: write: %v", rp.name, err)
	}
}

// sendMediaEvent sends data as the text of a media event, whatever it is.
func (rp *rawPeer) sendMediaEvent(t testing.TB, data string) {
	t.Helper()
	b, err := proto.Marshal(&wire.PeerMessage{Content: &wire.PeerMessage_MediaEvent_{
		MediaEvent: &wire.PeerMessage_MediaEvent{Data: data}}})
	if err != nil {
		t.Fatal(err)
	}
	rp.sendFrame(t, websocket.MessageBinary, b)
}

func (rp *rawPeer) send(t testing.TB, ev wire.ClientEvent) {
	t.Helper()
	b, err := wire.EncodeClientEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	rp.sendMediaEvent(t, string(b))
}

// connect sends connect and waits for connected.
func (rp *rawPeer) connect(t testing.TB, metadata string) {
	t.Helper()
	rp.send(t, wire.Connect{Metadata: []byte(metadata)})
	c := nextRaw[wire.Connected](t, rp)
	rp.id = c.ID
}

// nextRaw returns the next media event of type T the raw peer received, skipping others.
func nextRaw[T wire.ServerEvent](t testing.TB, rp *rawPeer) T {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev := <-rp.events:
			if v, ok := ev.(T); ok {
				return v
			}
		case <-rp.done:
			var zero T
			t.Fatalf("%s: socket ended (%v) while waiting for %T", rp.name, rp.err, zero)
		case <-deadline:
			var zero T
			t.Fatalf("%s: timed out waiting for %T", rp.name, zero)
		}
	}
}

// makeOffer returns an SDP offer like a browser's: recvonly m-lines as offerData asks for and,
// with publish, first a sendonly audio m-line (mid "0"). It is made by a pion PeerConnection
// that is closed again (the offer is never answered).
func makeOffer(t testing.TB, types map[string]int, publish bool) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.GracefulClose()
	if publish {
		track, err := webrtc.NewTrackLocalStaticSample(opusCodec, "audio", "stream")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		for range types[kind.String()] {
			if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}
