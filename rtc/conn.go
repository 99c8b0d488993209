package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ConnConfig configures a Conn. The callbacks run on pion's goroutines: they must not call back
// into the Conn and should only hand work to their owner's loop.
type ConnConfig struct {
	// VideoCodec restricts the video codec (the room's policy).
	VideoCodec VideoCodec
	// Logger receives the connection's logs. Default: slog.Default().
	Logger *slog.Logger
	// OnCandidate receives each local ICE candidate as its JSON init (never nil).
	OnCandidate func(webrtc.ICECandidateInit)
	// OnTrack receives each incoming media stream (one per simulcast layer) with the mid of its
	// m-line. It runs on a goroutine of its own, which becomes the stream's reader: it should
	// return only when the stream has ended.
	OnTrack func(mid string, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver)
	// OnState receives the connection's state changes.
	OnState func(webrtc.PeerConnectionState)
}

// Conn is the server side of one client's PeerConnection. The client always offers; Answer
// applies each offer and answers it. Methods other than WriteRTCP and Close must be called from
// one goroutine (the owner's loop).
type Conn struct {
	pc  *webrtc.PeerConnection
	log *slog.Logger

	senders map[*DownTrack]*webrtc.RTPTransceiver // down-tracks currently attached

	closeOnce sync.Once
	closeErr  error
}

// NewConn creates a PeerConnection with the room's codec policy.
func (a *API) NewConn(cfg ConnConfig) (*Conn, error) {
	api, ok := a.apis[cfg.VideoCodec]
	if !ok {
		return nil, fmt.Errorf("rtc: unknown video codec policy %q", cfg.VideoCodec)
	}
	if cfg.Logger == nil {
		cfg.Logger = a.log
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	c := &Conn{pc: pc, log: cfg.Logger, senders: map[*DownTrack]*webrtc.RTPTransceiver{}}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil && cfg.OnCandidate != nil {
			cfg.OnCandidate(cand.ToJSON())
		}
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		mid := ""
		for _, tr := range pc.GetTransceivers() {
			if tr.Receiver() == receiver {
				mid = tr.Mid()
				break
			}
		}
		if cfg.OnTrack != nil {
			cfg.OnTrack(mid, remote, receiver)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection state", "state", s)
		if cfg.OnState != nil {
			cfg.OnState(s)
		}
	})
	return c, nil
}

// Section describes one m-line of an offer.
type Section struct {
	Mid       string
	Kind      webrtc.RTPCodecType
	Direction webrtc.RTPTransceiverDirection // as the offerer (the client) sees it
	RIDs      []string                       // simulcast layers the client sends, in SDP order
}

// ParseSections lists the m-lines of an SDP offer.
func ParseSections(offer string) ([]Section, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("rtc: parse offer: %w", err)
	}
	var out []Section
	for _, m := range s.MediaDescriptions {
		sec := Section{Kind: webrtc.NewRTPCodecType(m.MediaName.Media)}
		if sec.Kind == 0 {
			continue // application (data channel) sections carry no tracks
		}
		sec.Direction = webrtc.RTPTransceiverDirectionSendrecv
		for _, a := range m.Attributes {
			switch a.Key {
			case "mid":
				sec.Mid = a.Value
			case "sendonly", "recvonly", "inactive", "sendrecv":
				sec.Direction = webrtc.NewRTPTransceiverDirection(a.Key)
			case "rid":
				if f := strings.Fields(a.Value); len(f) >= 2 && f[1] == "send" {
					sec.RIDs = append(sec.RIDs, f[0])
				}
			}
		}
		if m.MediaName.Port.Value == 0 {
			sec.Direction = webrtc.RTPTransceiverDirectionInactive // rejected/stopped m-line
		}
		out = append(out, sec)
	}
	return out, nil
}

// Answer applies a client offer and returns the answer. Before the offer is applied, each
// down-track of add gets a sendonly transceiver (pion matches it to a new recvonly m-line of its
// kind) and each of remove is detached (its m-line turns inactive). Recvonly m-lines left without a
// track are answered inactive. Afterwards Mid tells which m-line each down-track got.
func (c *Conn) Answer(offer string, add, remove []*DownTrack) (string, error) {
	for _, d := range remove {
		if tr, ok := c.senders[d]; ok {
			if err := c.pc.RemoveTrack(tr.Sender()); err != nil {
				c.log.Warn("detach down-track", "track", d.ID(), "err", err)
			}
			delete(c.senders, d)
		}
	}
	for _, d := range add {
		tr, err := c.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return "", fmt.Errorf("rtc: attach down-track %s: %w", d.ID(), err)
		}
		c.senders[d] = tr
		d.attach(tr.Sender())
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("rtc: apply offer: %w", err)
	}
	attached := map[*webrtc.RTPTransceiver]bool{}
	for _, tr := range c.senders {
		attached[tr] = true
	}
	for _, tr := range c.pc.GetTransceivers() {
		// A recvonly m-line that got no track of ours: answer inactive, or the client's ontrack
		// handler would throw on an unmapped mid.
		// (pion gives such a transceiver no sender at all, or one without a track.)
		if !attached[tr] && (tr.Sender() == nil || tr.Sender().Track() == nil) &&
			tr.Direction() == webrtc.RTPTransceiverDirectionSendonly {
			if err := tr.Stop(); err != nil {
				c.log.Debug("stop unused transceiver", "mid", tr.Mid(), "err", err)
			}
		}
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("rtc: create answer: %w", err)
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("rtc: apply answer: %w", err)
	}
	return c.pc.LocalDescription().SDP, nil
}

// Mid returns the mid of the m-line that carries d, or "" if the last offer had no room for it.
func (c *Conn) Mid(d *DownTrack) string {
	if tr, ok := c.senders[d]; ok {
		return tr.Mid()
	}
	return ""
}

// AnswerCodec returns the codec the client will send on the m-line mid: the first codec of our
// answer for it (browsers send with the answer's first codec).
func (c *Conn) AnswerCodec(mid string) (webrtc.RTPCodecParameters, bool) {
	ld := c.pc.LocalDescription()
	if ld == nil {
		return webrtc.RTPCodecParameters{}, false
	}
	parsed, err := ld.Unmarshal()
	if err != nil {
		return webrtc.RTPCodecParameters{}, false
	}
	for _, m := range parsed.MediaDescriptions {
		if v, _ := m.Attribute("mid"); v != mid {
			continue
		}
		for _, f := range m.MediaName.Formats {
			var pt uint8
			if _, err := fmt.Sscan(f, &pt); err != nil {
				continue
			}
			codec, err := parsed.GetCodecForPayloadType(pt)
			if err != nil || strings.EqualFold(codec.Name, "rtx") {
				continue
			}
			kind := "video"
			if m.MediaName.Media == "audio" {
				kind = "audio"
			}
			params := webrtc.RTPCodecParameters{
				PayloadType: webrtc.PayloadType(pt),
				RTPCodecCapability: webrtc.RTPCodecCapability{
					MimeType: kind + "/" + codec.Name, ClockRate: codec.ClockRate, SDPFmtpLine: codec.Fmtp,
				},
			}
			if codec.EncodingParameters != "" {
				fmt.Sscan(codec.EncodingParameters, &params.Channels)
			}
			return params, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// AddCandidate adds a remote ICE candidate. It fails before the first offer was applied.
func (c *Conn) AddCandidate(init webrtc.ICECandidateInit) error {
	return c.pc.AddICECandidate(init)
}

// WriteRTCP sends RTCP (e.g. a PLI to the publisher). Safe for concurrent use.
func (c *Conn) WriteRTCP(pkts []rtcp.Packet) error { return c.pc.WriteRTCP(pkts) }

// ConnectionState returns the PeerConnection's state.
func (c *Conn) ConnectionState() webrtc.PeerConnectionState { return c.pc.ConnectionState() }

// Close detaches every down-track and closes the PeerConnection, waiting for pion's goroutines
// (and so for every OnTrack reader). It is idempotent. It must not be called from a pion
// callback.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.pc.GracefulClose()
		if errors.Is(c.closeErr, webrtc.ErrConnectionClosed) {
			c.closeErr = nil
		}
	})
	return c.closeErr
}
