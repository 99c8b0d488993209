package jellyfish

import (
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// VideoCodec restricts the video codec of a room's WebRTC peers.
type VideoCodec string

// Video codecs. The empty VideoCodec lets peers use any codec.
const (
	VideoCodecAny  VideoCodec = ""
	VideoCodecH264 VideoCodec = "h264"
	VideoCodecVP8  VideoCodec = "vp8"
)

// RoomConfig is the configuration a room is created with (the v0.5.0 room options).
type RoomConfig struct {
	// RoomID names the room: letters, digits and hyphens. Empty: a random UUID.
	RoomID string
	// MaxPeers caps the number of peers, connected or not. Nil: no limit. Zero is accepted (as by
	// Jellyfish) and then every AddPeer fails with ErrPeerLimit. Use Limit to set it.
	MaxPeers *int
	// VideoCodec restricts the video codec of WebRTC peers. Empty: any.
	VideoCodec VideoCodec
	// WebhookURL receives the room's notifications (server package). Empty: none. It must be an
	// absolute URL with a scheme, a host and a path ("http://host/" is valid, "http://host" is not).
	WebhookURL string
	// PeerlessPurgeTimeout deletes the room once no peer has been connected for this long.
	// Zero: never. Whole seconds only.
	PeerlessPurgeTimeout time.Duration
	// PeerDisconnectedTimeout removes a peer that has been disconnected for this long.
	// Zero: never. Whole seconds only.
	PeerDisconnectedTimeout time.Duration
}

// Limit returns a pointer to n, for RoomConfig.MaxPeers.
func Limit(n int) *int { return &n }

// ValidationError is an invalid option. Its message is the one Jellyfish v0.5.0 gives for the
// same mistake, so the REST API can answer it verbatim.
type ValidationError struct {
	Msg      string
	NotFound bool // the REST API answers 404 rather than 400
}

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

var roomIDPattern = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// Messages of the room-option checks, shared with the REST layer so both say the same thing.
const (
	MsgInvalidRoomID           = `Cannot add room with id "%s" - roomId may contain only alphanumeric characters and hyphens`
	MsgRoomExists              = `Cannot add room with id "%s" - room already exists`
	MsgInvalidMaxPeers         = `Expected maxPeers to be a number, got: %s`
	MsgInvalidVideoCodec       = `Expected videoCodec to be 'h264' or 'vp8', got: %s`
	MsgInvalidWebhookURL       = `Expected webhookUrl to be valid URL, got: %s`
	MsgInvalidPeerlessPurge    = `Expected peerlessPurgeTimeout to be a positive integer, got: %s`
	MsgInvalidPeerDisconnected = `Expected peerDisconnectedTimeout to be a positive integer, got: %s`
)

// validate checks c in Jellyfish's order (the first failure wins) and fills in a random id.
func (c RoomConfig) validate() (RoomConfig, error) {
	if c.RoomID == "" {
		c.RoomID = newUUID()
	} else if !roomIDPattern.MatchString(c.RoomID) {
		return c, invalid(MsgInvalidRoomID, c.RoomID)
	}
	if c.MaxPeers != nil && *c.MaxPeers < 0 {
		return c, invalid(MsgInvalidMaxPeers, fmt.Sprint(*c.MaxPeers))
	}
	if c.MaxPeers != nil {
		c.MaxPeers = Limit(*c.MaxPeers) // our own copy: the caller may reuse theirs
	}
	switch c.VideoCodec {
	case VideoCodecAny, VideoCodecH264, VideoCodecVP8:
	default:
		return c, invalid(MsgInvalidVideoCodec, string(c.VideoCodec))
	}
	if c.WebhookURL != "" && !ValidWebhookURL(c.WebhookURL) {
		return c, invalid(MsgInvalidWebhookURL, c.WebhookURL)
	}
	if !wholePositiveSeconds(c.PeerlessPurgeTimeout) {
		return c, invalid(MsgInvalidPeerlessPurge, seconds(c.PeerlessPurgeTimeout))
	}
	if !wholePositiveSeconds(c.PeerDisconnectedTimeout) {
		return c, invalid(MsgInvalidPeerDisconnected, seconds(c.PeerDisconnectedTimeout))
	}
	return c, nil
}

// ValidWebhookURL reports whether u is a webhook URL Jellyfish accepts: a URI with a non-empty
// scheme, host and path.
func ValidWebhookURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme != "" && p.Host != "" && p.Path != ""
}

// wholePositiveSeconds accepts zero (unset) or a positive whole number of seconds.
func wholePositiveSeconds(d time.Duration) bool {
	return d == 0 || (d > 0 && d%time.Second == 0)
}

func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprint(int64(d / time.Second))
	}
	return fmt.Sprint(d.Seconds())
}
