package jellyfish

import (
	"log/slog"
	"time"
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

	// EventBuffer is the default buffer of a subscription made with Subscribe(0). A subscriber
	// that falls this many events behind is dropped rather than allowed to block rooms.
	// Default: 1024.
	EventBuffer int
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
