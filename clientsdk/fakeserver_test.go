package clientsdk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// fakeServer plays the server side of the peer socket for one client at a time: auth, connect,
// rounds answered by a pion answerer, one server-side VP8 track "srv:cam" offered to the client,
// and actions injected by the test. Every client event it receives is copied to got.
type fakeServer struct {
	t       testing.TB
	ts      *httptest.Server
	api     *webrtc.API
	actions chan func(*fakeSession)
	got     chan wire.ClientEvent
	// published receives the client's track id of each published track whose RTP arrived.
	published chan string
	packets   atomic.Int64 // RTP packets received from the client
	wg        sync.WaitGroup
	stop      chan struct{}
	// empty: the room has no other endpoint; rounds start only on renegotiateTracks.
	empty bool
}

// fakeSession is one connected client; only the handler goroutine touches it.
type fakeSession struct {
	fs        *fakeServer
	conn      *websocket.Conn
	pc        *webrtc.PeerConnection
	cam       *webrtc.TrackLocalStaticSample
	camSender *webrtc.RTPSender
	offered   map[string]string // the client's last midToTrackId
	cands     chan webrtc.ICECandidateInit
}

const fakePeerID = "peer-1"

func newFakeServer(t testing.TB, empty bool) *fakeServer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	s := webrtc.SettingEngine{}
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	fs := &fakeServer{
		t:         t,
		api:       webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)),
		actions:   make(chan func(*fakeSession), 16),
		got:       make(chan wire.ClientEvent, 256),
		published: make(chan string, 16),
		stop:      make(chan struct{}),
		empty:     empty,
	}
	fs.ts = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(func() {
		close(fs.stop)
		fs.ts.Close()
		fs.wg.Wait()
	})
	return fs
}

// url returns the peer socket URL in the REST API's peer_websocket_url form (no scheme).
func (fs *fakeServer) url() string {
	return fs.ts.Listener.Addr().String() + "/socket/peer/websocket"
}

// do runs f on the session's handler goroutine.
func (fs *fakeServer) do(f func(*fakeSession)) { fs.actions <- f }

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(4 << 20)
	ctx := r.Context()
	ss := &fakeSession{fs: fs, conn: conn, cands: make(chan webrtc.ICECandidateInit, 64)}
	defer ss.close()

	_, data, err := conn.Read(ctx)
	if err != nil {
		return
	}
	var msg wire.PeerMessage
	if proto.Unmarshal(data, &msg) != nil || msg.GetAuthRequest() == nil {
		conn.Close(websocket.StatusNormalClosure, "unauthenticated")
		return
	}
	if msg.GetAuthRequest().GetToken() != "good" {
		conn.Close(websocket.StatusNormalClosure, "invalid token")
		return
	}
	ss.writeMsg(&wire.PeerMessage{Content: &wire.PeerMessage_Authenticated_{Authenticated: &wire.PeerMessage_Authenticated{}}})

	inbound := make(chan wire.ClientEvent)
	readDone := make(chan struct{})
	go func() { // reader; the handler waits for it below
		defer close(readDone)
		defer close(inbound)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var msg wire.PeerMessage
			if proto.Unmarshal(data, &msg) != nil || msg.GetMediaEvent() == nil {
				continue
			}
			ev, err := wire.DecodeClientEvent([]byte(msg.GetMediaEvent().GetData()))
			if err != nil {
				fs.t.Errorf("fake server: client sent an invalid media event: %v", err)
				continue
			}
			inbound <- ev
		}
	}()
	defer func() { <-readDone }()
	defer conn.CloseNow()
	for {
		select {
		case ev, ok := <-inbound:
			if !ok {
				return
			}
			select {
			case fs.got <- ev:
			default:
			}
			ss.handle(ev)
		case f := <-fs.actions:
			f(ss)
		case c := <-ss.cands:
			ss.send(wire.ServerCandidate{Candidate: c.Candidate, SDPMLineIndex: c.SDPMLineIndex})
		case <-fs.stop:
			return
		}
	}
}

func (ss *fakeSession) close() {
	if ss.pc != nil {
		ss.pc.GracefulClose()
	}
}

func (ss *fakeSession) writeMsg(m *wire.PeerMessage) {
	b, err := proto.Marshal(m)
	if err != nil {
		ss.fs.t.Errorf("fake server: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ss.conn.Write(ctx, websocket.MessageBinary, b)
}

// sendRaw sends a media event given as JSON text.
func (ss *fakeSession) sendRaw(data string) {
	ss.writeMsg(&wire.PeerMessage{Content: &wire.PeerMessage_MediaEvent_{MediaEvent: &wire.PeerMessage_MediaEvent{Data: data}}})
}

func (ss *fakeSession) send(ev wire.ServerEvent) {
	b, err := wire.EncodeServerEvent(ev)
	if err != nil {
		ss.fs.t.Errorf("fake server: encode %T: %v", ev, err)
		return
	}
	ss.sendRaw(string(b))
}

var camInfo = map[string]wire.TrackInfo{"srv:cam": {
	Metadata:        json.RawMessage(`{"source":"camera"}`),
	SimulcastConfig: wire.SimulcastConfig{ActiveEncodings: []string{"h"}},
}}

func (ss *fakeSession) handle(ev wire.ClientEvent) {
	switch e := ev.(type) {
	case wire.Connect:
		if ss.fs.empty {
			ss.send(wire.Connected{ID: fakePeerID})
			return
		}
		ss.send(wire.Connected{ID: fakePeerID, OtherEndpoints: []wire.Endpoint{{
			ID: "srv", Type: "webrtc", Metadata: json.RawMessage(`{"name":"srv"}`), Tracks: camInfo}}})
		ss.send(wire.TracksAdded{EndpointID: "srv", Tracks: camInfo})
		ss.send(wire.OfferData{TracksTypes: map[string]int{"audio": 0, "video": 1}})
	case wire.RenegotiateTracks:
		video := 1
		if ss.fs.empty {
			video = 0
		}
		ss.send(wire.OfferData{TracksTypes: map[string]int{"audio": 0, "video": video}})
	case wire.SDPOffer:
		ss.answer(e)
	case wire.ClientCandidate:
		if ss.pc != nil {
			if err := ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: e.Candidate, SDPMLineIndex: e.SDPMLineIndex}); err != nil {
				ss.fs.t.Logf("fake server: add candidate: %v", err)
			}
		}
	}
}

func (ss *fakeSession) answer(e wire.SDPOffer) {
	t := ss.fs.t
	if ss.pc == nil {
		pc, err := ss.fs.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
		if err != nil {
			t.Errorf("fake server: %v", err)
			return
		}
		ss.pc = pc
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				return
			}
			select {
			case ss.cands <- c.ToJSON():
			default:
			}
		})
		pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
			mid := ""
			for _, x := range pc.GetTransceivers() {
				if x.Receiver() == r {
					mid = x.Mid()
				}
			}
			reported := false
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				ss.fs.packets.Add(1)
				if !reported {
					reported = true
					ss.fs.published <- mid // resolved to a track id by the test through got
				}
			}
		})
		ss.cam, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "srv-stream")
		if err != nil {
			t.Errorf("fake server: %v", err)
			return
		}
		tr, err := pc.AddTransceiverFromTrack(ss.cam, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Errorf("fake server: %v", err)
			return
		}
		ss.camSender = tr.Sender()
		ss.fs.wg.Go(func() { ss.fs.writeFrames(ss.cam) })
		ss.fs.wg.Go(func() {
			for {
				if _, _, err := ss.camSender.ReadRTCP(); err != nil {
					return
				}
			}
		})
	}
	ss.offered = e.MidToTrackID
	if err := ss.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: e.Offer.SDP}); err != nil {
		t.Errorf("fake server: set offer: %v", err)
		return
	}
	// Unused recvonly slots (no track) must be inactive, as the real server does.
	for _, x := range ss.pc.GetTransceivers() {
		if x.Direction() == webrtc.RTPTransceiverDirectionSendonly && x.Sender() != nil && x.Sender().Track() == nil {
			x.Stop()
		}
	}
	answer, err := ss.pc.CreateAnswer(nil)
	if err != nil {
		t.Errorf("fake server: create answer: %v", err)
		return
	}
	if err := ss.pc.SetLocalDescription(answer); err != nil {
		t.Errorf("fake server: set answer: %v", err)
		return
	}
	mids := map[string]string{}
	for mid, id := range e.MidToTrackID {
		mids[mid] = id
	}
	for _, x := range ss.pc.GetTransceivers() {
		if x.Sender() == ss.camSender && x.Sender().Track() != nil && x.Mid() != "" {
			mids[x.Mid()] = "srv:cam"
		}
	}
	ss.send(wire.SDPAnswer{Type: "answer", SDP: answer.SDP, MidToTrackID: mids})
}

// removeCam removes the server's track as the real server does: tracksRemoved, then a round.
func (ss *fakeSession) removeCam() {
	ss.send(wire.TracksRemoved{EndpointID: "srv", TrackIDs: []string{"srv:cam"}})
	if err := ss.pc.RemoveTrack(ss.camSender); err != nil {
		ss.fs.t.Errorf("fake server: remove track: %v", err)
	}
	ss.send(wire.OfferData{TracksTypes: map[string]int{"audio": 0, "video": 1}})
}

// writeFrames writes synthetic VP8 keyframes until the server stops.
func (fs *fakeServer) writeFrames(track *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-fs.stop:
			return
		case <-tick.C:
			_ = track.WriteSample(media.Sample{Data: vp8Keyframe, Duration: 20 * time.Millisecond})
		}
	}
}

// vp8Keyframe is a VP8 frame whose header says keyframe (frame tag P bit 0, start code
// 9d 01 2a, 16x16); pion's VP8 payloader adds the RTP payload descriptor (S=1, PID=0).
var vp8Keyframe = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00, 0x00, 0x47, 0x08, 0x85, 0x85, 0x88, 0x85, 0x84, 0x88, 0x02}
