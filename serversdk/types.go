package serversdk

import (
	"encoding/json"
)

// Values of RoomConfig.VideoCodec. Use them as new(VideoCodecH264).
const (
	VideoCodecH264 = "h264"
	VideoCodecVP8  = "vp8"
)

// Values of Peer.Status.
const (
	PeerStatusConnected    = "connected"
	PeerStatusDisconnected = "disconnected"
)

// Values of Track.Type.
const (
	TrackTypeAudio = "audio"
	TrackTypeVideo = "video"
)

// PeerTypeWebRTC is the only peer type (PeerOptions.Type, Peer.Type).
const PeerTypeWebRTC = "webrtc"

// RoomConfig is the configuration of a room: the body of CreateRoom and Room.Config.
// A nil field is left to the server's default when creating a room, and is null (unset) in
// Room.Config. Go 1.26's new(v) makes the pointers: RoomConfig{MaxPeers: new(10)}.
type RoomConfig struct {
	// RoomID is the room's id ([a-zA-Z0-9-]+). Nil: the server generates a UUID. Always set in
	// Room.Config.
	RoomID *string `json:"roomId,omitempty"`
	// MaxPeers limits the number of peers, connected or not. Nil: unlimited.
	MaxPeers *int `json:"maxPeers,omitempty"`
	// VideoCodec, VideoCodecH264 or VideoCodecVP8, is enforced on WebRTC peers. Nil: any.
	VideoCodec *string `json:"videoCodec,omitempty"`
	// WebhookURL receives the room's notifications as protobuf (see DecodeNotification).
	WebhookURL *string `json:"webhookUrl,omitempty"`
	// PeerlessPurgeTimeout deletes the room after this many seconds without a connected peer.
	PeerlessPurgeTimeout *int `json:"peerlessPurgeTimeout,omitempty"`
	// PeerDisconnectedTimeout deletes a peer after this many seconds disconnected.
	PeerDisconnectedTimeout *int `json:"peerDisconnectedTimeout,omitempty"`
}

// Room is the state of a room.
type Room struct {
	ID         string      `json:"id"`
	Config     RoomConfig  `json:"config"`
	Peers      []Peer      `json:"peers"`
	Components []Component `json:"components"`
}

// CreatedRoom is the answer of CreateRoom.
type CreatedRoom struct {
	Room Room `json:"room"`
	// JellyfishAddress is the "host:port" (no scheme) of the server hosting the room; in a
	// cluster every later call about the room must go there.
	JellyfishAddress string `json:"jellyfish_address"`
}

// Peer is a peer of a room.
type Peer struct {
	ID string `json:"id"`
	// Type is PeerTypeWebRTC.
	Type string `json:"type"`
	// Status is PeerStatusConnected while the peer's WebSocket is up, else PeerStatusDisconnected.
	Status string `json:"status"`
	// Metadata is the JSON text of the metadata the peer set, "null" until it sets some.
	Metadata string  `json:"-"`
	Tracks   []Track `json:"tracks"`
}

type peerJSON struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Status   string          `json:"status"`
	Metadata json.RawMessage `json:"metadata"`
	Tracks   []Track         `json:"tracks"`
}

// UnmarshalJSON decodes a peer, keeping its metadata as JSON text.
func (p *Peer) UnmarshalJSON(b []byte) error {
	var v peerJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Peer{ID: v.ID, Type: v.Type, Status: v.Status, Metadata: jsonText(v.Metadata), Tracks: v.Tracks}
	return nil
}

// MarshalJSON encodes a peer as the server does, with its metadata as a JSON value.
func (p Peer) MarshalJSON() ([]byte, error) {
	return json.Marshal(peerJSON{ID: p.ID, Type: p.Type, Status: p.Status, Metadata: rawJSON(p.Metadata), Tracks: p.Tracks})
}

// CreatedPeer is the answer of AddPeer.
type CreatedPeer struct {
	Peer Peer `json:"peer"`
	// Token authenticates the peer on the peer WebSocket (valid 24 h, reusable).
	Token string `json:"token"`
	// PeerWebsocketURL is "host:port/socket/peer/websocket", without a scheme.
	PeerWebsocketURL string `json:"peer_websocket_url"`
}

// PeerOptions is the body of AddPeer.
type PeerOptions struct {
	// Type is the peer type. Empty: PeerTypeWebRTC.
	Type string
	// EnableSimulcast lets the peer send simulcast. Nil: the server's default (true).
	EnableSimulcast *bool
}

// Track is a track published by a peer or a component, in REST answers and in track
// notifications.
type Track struct {
	ID string `json:"id"`
	// Type is TrackTypeAudio or TrackTypeVideo.
	Type string `json:"type"`
	// Metadata is the JSON text of the track's metadata, "null" when it has none.
	Metadata string `json:"-"`
}

type trackJSON struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Metadata json.RawMessage `json:"metadata"`
}

// UnmarshalJSON decodes a track, keeping its metadata as JSON text.
func (t *Track) UnmarshalJSON(b []byte) error {
	var v trackJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Track{ID: v.ID, Type: v.Type, Metadata: jsonText(v.Metadata)}
	return nil
}

// MarshalJSON encodes a track as the server does, with its metadata as a JSON value.
func (t Track) MarshalJSON() ([]byte, error) {
	return json.Marshal(trackJSON{ID: t.ID, Type: t.Type, Metadata: rawJSON(t.Metadata)})
}

// jsonText returns the text of a JSON value, "null" when absent.
func jsonText(m json.RawMessage) string {
	if len(m) == 0 {
		return "null"
	}
	return string(m)
}

// rawJSON turns JSON text back into a value to embed, null when empty or not JSON.
func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// Health is the answer of Health.
type Health struct {
	// Status is "UP".
	Status string `json:"status"`
	// Uptime is in whole seconds.
	Uptime       int64              `json:"uptime"`
	Version      string             `json:"version"`
	GitCommit    string             `json:"gitCommit"`
	Distribution HealthDistribution `json:"distribution"`
}

// HealthDistribution describes the server's cluster.
type HealthDistribution struct {
	Enabled bool `json:"enabled"`
	// NodeStatus is "UP" or "DOWN".
	NodeStatus     string `json:"nodeStatus"`
	NodesInCluster int    `json:"nodesInCluster"`
}
