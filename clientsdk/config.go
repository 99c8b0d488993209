package clientsdk

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// Config configures Join. Only URL and Token are required; the zero value of every other field
// is a documented default.
type Config struct {
	// URL is the peer socket, e.g. "ws://127.0.0.1:8080/socket/peer/websocket". The REST API's
	// peer_websocket_url form without a scheme ("127.0.0.1:8080/socket/peer/websocket") is
	// accepted and dialled as ws://; http:// and https:// are accepted as ws:// and wss://.
	URL string
	// Token is the peer token returned by the REST API when the peer was added.
	Token string
	// Metadata is the peer metadata sent in "connect", JSON-encoded with encoding/json (a
	// json.RawMessage is sent as is). Nil sends "connect" without a metadata key, like the
	// browser client does for undefined metadata.
	Metadata any
	// Logger receives the client's logs. Default: slog.Default().
	Logger *slog.Logger
	// RelayOnly makes the PeerConnection use only relay candidates on the TURN servers of the
	// first offerData (iceTransportPolicy "relay"), like the browser client; it needs the
	// server's integrated TURN server. Default false: host candidates are used too.
	RelayOnly bool
	// SettingEngine, when set, is called with the PeerConnection's SettingEngine after the
	// defaults were applied, to change them. Defaults: UDP4 only, loopback candidates included,
	// mDNS off, pion's logs routed to Logger; with RelayOnly also a zero relay acceptance wait.
	SettingEngine func(*webrtc.SettingEngine)
	// Interceptors, when set, is called with each PeerConnection's interceptor registry before
	// pion's default interceptors (NACK generator and responder, RTCP reports, TWCC, ...) are
	// added. What it registers is therefore closest to the network: it sees incoming RTP and
	// RTCP before the defaults do and outgoing packets after them, e.g. to inject loss that the
	// NACK generator must notice, or to observe the server's PLIs. The registry builds a fresh
	// chain for every PeerConnection. Default: none.
	Interceptors func(*interceptor.Registry)
}

// Default bitrates announced in sdpOffer.trackIdToTrackBitrates, as the browser client does for
// a single-encoding track without maxBitrate.
const (
	audioBitrate = 50000
	videoBitrate = 2500000
)

// authReasons are the close reasons the browser client treats as authentication errors.
var authReasons = map[string]bool{
	"missing token":          true,
	"invalid token":          true,
	"expired token":          true,
	"room not found":         true,
	"peer not found":         true,
	"peer already connected": true,
}

var (
	// ErrAuth matches (errors.Is) the *CloseError Join returns when the server refused the
	// token with one of the reasons the browser client treats as authentication errors.
	ErrAuth = errors.New("clientsdk: authentication failed")
	// ErrClosed is returned by calls made after Leave.
	ErrClosed = errors.New("clientsdk: client closed")
	// ErrDisconnected is returned by calls made after the session ended (Disconnected event).
	ErrDisconnected = errors.New("clientsdk: disconnected")
	// ErrUnknownTrack is returned for a track id that is not one of the client's own tracks.
	ErrUnknownTrack = errors.New("clientsdk: unknown track")
)

// CloseError is returned by Join when the server closed the socket before the client was
// connected. errors.Is(err, ErrAuth) reports whether Reason is an authentication error.
type CloseError struct {
	Code   int    // WebSocket close code, -1 when the socket ended without a close frame
	Reason string // close reason, e.g. "invalid token"
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("clientsdk: socket closed (%d %q)", e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrAuth) true for authentication reasons.
func (e *CloseError) Is(target error) bool { return target == ErrAuth && authReasons[e.Reason] }

// socketURL turns cfg.URL into a URL coder/websocket can dial.
func socketURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("clientsdk: empty URL")
	}
	if !strings.Contains(raw, "://") {
		return "ws://" + raw, nil
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "ws", "http":
		return "ws://" + rest, nil
	case "wss", "https":
		return "wss://" + rest, nil
	}
	return "", fmt.Errorf("clientsdk: unsupported URL scheme %q", scheme)
}

// iceServers builds the RTCIceServers the browser client derives from integratedTurnServers:
// "turn:<addr>:<port>?transport=<udp|tcp>", or "turns:<addr>:<port>?transport=tcp" for tls.
func iceServers(turns []wire.TurnServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(turns))
	for _, t := range turns {
		host := t.ServerAddr + ":" + strconv.Itoa(t.ServerPort)
		url := "turn:" + host + "?transport=" + t.Transport
		if t.Transport == "tls" {
			url = "turns:" + host + "?transport=tcp"
		}
		out = append(out, webrtc.ICEServer{URLs: []string{url}, Username: t.Username, Credential: t.Password})
	}
	return out
}

// newAPI builds the pion API of one PeerConnection: default codecs, mid/rid/audio-level header
// extensions, default interceptors and the loopback-friendly SettingEngine.
func (cfg *Config) newAPI(log *slog.Logger) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	exts := []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{"urn:ietf:params:rtp-hdrext:sdes:mid", webrtc.RTPCodecTypeAudio},
		{"urn:ietf:params:rtp-hdrext:ssrc-audio-level", webrtc.RTPCodecTypeAudio},
		{"urn:ietf:params:rtp-hdrext:sdes:mid", webrtc.RTPCodecTypeVideo},
		{"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", webrtc.RTPCodecTypeVideo},
		{"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", webrtc.RTPCodecTypeVideo},
	}
	for _, e := range exts {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, err
		}
	}
	reg := &interceptor.Registry{}
	if cfg.Interceptors != nil {
		cfg.Interceptors(reg)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	s := webrtc.SettingEngine{LoggerFactory: pionLogs{log}}
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if cfg.RelayOnly {
		s.SetRelayAcceptanceMinWait(0)
	}
	if cfg.SettingEngine != nil {
		cfg.SettingEngine(&s)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s)), nil
}

// encodeMetadata JSON-encodes application metadata. Nil (and a nil json.RawMessage) yields nil,
// which the encoders below turn into an absent key.
func encodeMetadata(v any) (json.RawMessage, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if m == nil {
			return nil, nil
		}
		if !json.Valid(m) {
			return nil, errors.New("clientsdk: metadata: invalid JSON")
		}
		return m, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("clientsdk: metadata: %w", err)
	}
	return b, nil
}

// metadataEvent encodes a top-level event whose data carries an optional metadata key under
// key, plus extra fields; a nil metadata leaves the key out (browser: JSON.stringify drops
// undefined).
func metadataEvent(typ string, key string, md json.RawMessage, extra map[string]string) ([]byte, error) {
	data := map[string]any{}
	for k, v := range extra {
		data[k] = v
	}
	if md != nil {
		data[key] = md
	}
	return json.Marshal(map[string]any{"type": typ, "data": data})
}

// newUUID returns a random (version 4) UUID string, as the browser client uses in track ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
