package jellyfish

import (
	"log/slog"
	"time"

	"github.com/jellyfish-go/jellyfish/rtc"
	"github.com/jellyfish-go/jellyfish/rtc/turn"
)

// Config configures an Engine. Its zero value works: every field documents its default.
type Config struct {
	// Logger receives the engine's logs. Default: slog.Default().
	Logger *slog.Logger

	// PeerTokenSecret is the HMAC key that signs peer tokens. Tokens signed with one secret are
	// accepted by every engine that has it (Jellyfish: JF_SECRET_KEY_BASE). Default: 32 random
	// bytes per engine, so tokens die with the engine.
	PeerTokenSecret []byte

	// PeerTokenTTL is how long a peer token can be used to authenticate. Default: 24 hours, as in
	// Jellyfish v0.5.0. It is checked only when a peer socket authenticates.
	PeerTokenTTL time.Duration

	// WebRTCDisabled refuses to add WebRTC peers with ErrWebRTCDisabled (JF_WEBRTC_USED=false).
	// Default: WebRTC peers are allowed.
	WebRTCDisabled bool

	// Media configures the media sockets every PeerConnection shares (ICE UDP mux, optional
	// ICE-TCP, NAT 1:1 addresses). Default: one UDP socket on an ephemeral port of 127.0.0.1.
	Media rtc.Config

	// TURN configures the integrated TURN server that the official browser client (which is
	// relay-only) connects through. Its AllowPeer and AllowPeerIP are set by the engine: it
	// relays only to the engine's own media sockets. Default: UDP on an ephemeral port of
	// 127.0.0.1, no TCP.
	TURN turn.Config

	// EventBuffer is the default buffer of a subscription made with Subscribe(0). A subscriber
	// that falls this many events behind is dropped rather than allowed to block rooms.
	// Default: 1024.
	EventBuffer int

	// ComponentFactories build the components Room.AddComponent (and the REST API) adds, by
	// type. A type without a factory is refused with ErrUnsupportedComponentType. The built-in
	// kinds: component/builtin.Factories.
	ComponentFactories map[ComponentType]ComponentFactory
}

const (
	defaultPeerTokenTTL = 24 * time.Hour
	defaultEventBuffer  = 1024
)

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PeerTokenTTL <= 0 {
		c.PeerTokenTTL = defaultPeerTokenTTL
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = defaultEventBuffer
	}
	return c
}
