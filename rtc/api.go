package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/internal/pionlog"
)

// VideoCodec restricts the video codec of a room's connections ("" lets peers use any).
type VideoCodec string

// Video codecs a room can enforce.
const (
	VideoAny  VideoCodec = ""
	VideoH264 VideoCodec = "h264"
	VideoVP8  VideoCodec = "vp8"
)

// Config configures the media plane of an engine. The zero value works: one UDP socket on an
// ephemeral port of 127.0.0.1, which only local clients (or the integrated TURN server) reach.
type Config struct {
	// Logger receives the media plane's logs. Default: slog.Default().
	Logger *slog.Logger
	// ListenIP is the address of the UDP socket every PeerConnection shares (ICE UDP mux).
	// Default: 127.0.0.1. Use 0.0.0.0 to accept clients on every interface.
	ListenIP netip.Addr
	// UDPPort is that socket's port. Default: 0, an ephemeral port.
	UDPPort int
	// UnbatchedWrites sends every datagram with its own sendto(2) instead of batching them
	// (sendmmsg, see batchWriter): for comparison.
	UnbatchedWrites bool
	// PublicIPs replace the host candidates' addresses in what clients see (NAT 1:1),
	// e.g. the public address of a cloud VM. Default: none.
	PublicIPs []string
	// TCPPort, when set, also accepts ICE over TCP on ListenIP:TCPPort (fallback for clients
	// behind UDP-blocking firewalls). Default: 0, no ICE-TCP.
	TCPPort int
	// DisconnectedTimeout and FailedTimeout are pion's ICE timeouts. Defaults: 5 s and 25 s.
	DisconnectedTimeout, FailedTimeout time.Duration
}

// API builds PeerConnections: one pion API per video-codec policy, all sharing one ICE UDP
// socket (and optionally one TCP listener). It is safe for concurrent use; Close it after every
// Conn it made is closed.
type API struct {
	cfg     Config
	log     *slog.Logger
	udpConn *countingConn
	udpMux  ice.UDPMux
	tcpLn   net.Listener
	tcpMux  ice.TCPMux
	apis    map[VideoCodec]*webrtc.API
}

// NewAPI opens the media sockets and builds the pion APIs.
func NewAPI(cfg Config) (*API, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if !cfg.ListenIP.IsValid() {
		cfg.ListenIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if cfg.DisconnectedTimeout <= 0 {
		cfg.DisconnectedTimeout = 5 * time.Second
	}
	if cfg.FailedTimeout <= 0 {
		cfg.FailedTimeout = 25 * time.Second
	}
	a := &API{cfg: cfg, log: cfg.Logger, apis: map[VideoCodec]*webrtc.API{}}
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.ListenIP, uint16(cfg.UDPPort))))
	if err != nil {
		return nil, fmt.Errorf("rtc: media UDP socket: %w", err)
	}
	a.udpConn = &countingConn{UDPConn: conn}
	if !cfg.UnbatchedWrites {
		a.udpConn.batch = newBatchWriter(conn, runtime.GOMAXPROCS(0))
	}
	a.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: a.udpConn})
	if cfg.TCPPort > 0 {
		ln, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(cfg.ListenIP, uint16(cfg.TCPPort))))
		if err != nil {
			a.udpMux.Close()
			return nil, fmt.Errorf("rtc: ICE-TCP listener: %w", err)
		}
		a.tcpLn = ln
		a.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: ln, ReadBufferSize: 64})
	}
	for _, codec := range []VideoCodec{VideoAny, VideoH264, VideoVP8} {
		api, err := a.build(codec)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.apis[codec] = api
	}
	a.log.Info("media sockets open", "udp", a.UDPAddr(), "tcp", a.TCPAddr())
	return a, nil
}

// UDPAddr is the address of the shared ICE UDP socket.
func (a *API) UDPAddr() netip.AddrPort { return a.udpConn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Traffic returns the bytes received and sent on the ICE UDP socket since it opened.
func (a *API) Traffic() (in, out uint64) { return a.udpConn.in.Load(), a.udpConn.out.Load() }

// TCPAddr is the address of the ICE-TCP listener, or the zero AddrPort.
func (a *API) TCPAddr() netip.AddrPort {
	if a.tcpLn == nil {
		return netip.AddrPort{}
	}
	return a.tcpLn.Addr().(*net.TCPAddr).AddrPort()
}

// IsMediaAddr reports whether addr is one of this API's own media sockets: the only addresses the
// integrated TURN server may relay to.
func (a *API) IsMediaAddr(addr netip.AddrPort) bool {
	port := a.UDPAddr().Port()
	if addr.Port() != port && (a.tcpLn == nil || addr.Port() != a.TCPAddr().Port()) {
		return false
	}
	ip := a.cfg.ListenIP
	return addr.Addr().Unmap() == ip || (ip.IsUnspecified() && isLocalAddr(addr.Addr().Unmap()))
}

// isLocalAddr reports whether ip belongs to one of this machine's interfaces.
func isLocalAddr(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			if local, ok := netip.AddrFromSlice(p.IP); ok && local.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// Close closes the media sockets.
func (a *API) Close() error {
	var errs []error
	if a.udpMux != nil {
		errs = append(errs, a.udpMux.Close())
	}
	if a.tcpMux != nil {
		errs = append(errs, a.tcpMux.Close())
	}
	return errors.Join(errs...)
}

// Payload types we offer; the client's own numbers win in its offer, these only matter for
// codecs we would have to put in an answer by ourselves.
const (
	ptOpus     = 111
	ptVP8      = 96
	ptVP8RTX   = 97
	ptH264     = 102
	ptH264RTX  = 103
	ptH264B    = 104
	ptH264BRTX = 105
)

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBTransportCC},
}

// H264Constrained is the fmtp of the H.264 we forward: constrained baseline, packetization
// mode 1 (what every browser sends and decodes).
const H264Constrained = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// codecsFor lists the codecs a policy registers, preferred first.
func codecsFor(policy VideoCodec) (audio, video []webrtc.RTPCodecParameters) {
	audio = []webrtc.RTPCodecParameters{{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}},
		PayloadType: ptOpus,
	}}
	vp8 := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: ptVP8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", ptVP8)}, PayloadType: ptVP8RTX},
	}
	h264 := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264Constrained, RTCPFeedback: videoFeedback}, PayloadType: ptH264},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", ptH264)}, PayloadType: ptH264RTX},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: videoFeedback}, PayloadType: ptH264B},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", ptH264B)}, PayloadType: ptH264BRTX},
	}
	switch policy {
	case VideoH264:
		video = h264
	case VideoVP8:
		video = vp8
	default:
		video = append(vp8, h264...)
	}
	return audio, video
}

// Header extensions: mid and rid for simulcast, audio level for VAD, TWCC for congestion control.
var (
	audioExtensions = []string{
		"urn:ietf:params:rtp-hdrext:sdes:mid",
		"urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	}
	videoExtensions = []string{
		"urn:ietf:params:rtp-hdrext:sdes:mid",
		"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
		"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
		"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	}
)

func (a *API) build(policy VideoCodec) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	audio, video := codecsFor(policy)
	for _, c := range audio {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	for _, c := range video {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	for _, uri := range audioExtensions {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	for _, uri := range videoExtensions {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}

	// Interceptors: NACKs towards publishers, RTCP reports both ways, TWCC feedback to
	// publishers. NACKs from subscribers are answered by our own down-tracks from the up-track's
	// packet cache, so no NACK responder (it would buffer every packet again per subscriber).
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(gen)
	recv, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(recv)
	send, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(send)
	tw, err := twcc.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(tw)

	s := webrtc.SettingEngine{LoggerFactory: pionlog.Factory{Log: a.log}}
	s.SetICEUDPMux(a.udpMux)
	if a.tcpMux != nil {
		s.SetICETCPMux(a.tcpMux)
		s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	} else {
		s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	s.SetIncludeLoopbackCandidate(true) // required on loopback; harmless elsewhere
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(a.cfg.PublicIPs) > 0 {
		s.SetNAT1To1IPs(a.cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	s.SetICETimeouts(a.cfg.DisconnectedTimeout, a.cfg.FailedTimeout, 2*time.Second)
	// Relay-only browsers: accept their relay pairs at once instead of after pion's 2 s default.
	s.SetRelayAcceptanceMinWait(0)
	s.SetPrflxAcceptanceMinWait(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s)), nil
}

// Accepts reports whether connections under policy can receive codec: a track in another codec
// (an H.264 file in a VP8 room) cannot be forwarded to them.
func Accepts(policy VideoCodec, codec webrtc.RTPCodecCapability) bool {
	audio, video := codecsFor(policy)
	for _, c := range append(audio, video...) {
		if codecMatches(c.RTPCodecCapability, codec) {
			return true
		}
	}
	return false
}
