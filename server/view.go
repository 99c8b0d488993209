package server

import (
	"encoding/json"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// The JSON shapes of the REST API. Fields are declared in byte order of their keys, the order
// Jellyfish's encoder emits them in.

type roomView struct {
	Components []componentView `json:"components"`
	Config     roomConfigView  `json:"config"`
	ID         string          `json:"id"`
	Peers      []peerView      `json:"peers"`
}

type roomConfigView struct {
	MaxPeers                *int    `json:"maxPeers"`
	PeerDisconnectedTimeout *int64  `json:"peerDisconnectedTimeout"`
	PeerlessPurgeTimeout    *int64  `json:"peerlessPurgeTimeout"`
	RoomID                  string  `json:"roomId"`
	VideoCodec              *string `json:"videoCodec"`
	WebhookURL              *string `json:"webhookUrl"`
}

type peerView struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata"`
	Status   string          `json:"status"`
	Tracks   []trackView     `json:"tracks"`
	Type     string          `json:"type"`
}

type trackView struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata"`
	Type     string          `json:"type"`
}

type componentView struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	Tracks     []trackView    `json:"tracks"`
	Type       string         `json:"type"`
}

type roomCreatedView struct {
	JellyfishAddress string   `json:"jellyfish_address"`
	Room             roomView `json:"room"`
}

type peerCreatedView struct {
	Peer             peerView `json:"peer"`
	PeerWebsocketURL string   `json:"peer_websocket_url"`
	Token            string   `json:"token"`
}

type healthView struct {
	Distribution distributionView `json:"distribution"`
	GitCommit    string           `json:"gitCommit"`
	Status       string           `json:"status"`
	Uptime       int64            `json:"uptime"`
	Version      string           `json:"version"`
}

type distributionView struct {
	Enabled        bool   `json:"enabled"`
	NodeStatus     string `json:"nodeStatus"`
	NodesInCluster int    `json:"nodesInCluster"`
}

func viewRoom(info jellyfish.RoomInfo) roomView {
	v := roomView{ID: info.ID, Config: viewRoomConfig(info.Config), Peers: []peerView{}, Components: []componentView{}}
	for _, p := range info.Peers {
		v.Peers = append(v.Peers, viewPeer(p))
	}
	for _, c := range info.Components {
		v.Components = append(v.Components, viewComponent(c))
	}
	return v
}

func viewRoomConfig(c jellyfish.RoomConfig) roomConfigView {
	return roomConfigView{
		MaxPeers:                c.MaxPeers,
		PeerDisconnectedTimeout: optSeconds(c.PeerDisconnectedTimeout),
		PeerlessPurgeTimeout:    optSeconds(c.PeerlessPurgeTimeout),
		RoomID:                  c.RoomID,
		VideoCodec:              optString(string(c.VideoCodec)),
		WebhookURL:              optString(c.WebhookURL),
	}
}

func viewPeer(p jellyfish.PeerInfo) peerView {
	return peerView{ID: p.ID, Metadata: orNull(p.Metadata), Status: string(p.Status), Tracks: viewTracks(p.Tracks), Type: string(p.Type)}
}

func viewComponent(c jellyfish.ComponentInfo) componentView {
	props := c.Properties
	if props == nil {
		props = map[string]any{}
	}
	return componentView{ID: c.ID, Properties: props, Tracks: viewTracks(c.Tracks), Type: string(c.Type)}
}

func viewTracks(ts []jellyfish.Track) []trackView {
	out := make([]trackView, 0, len(ts))
	for _, t := range ts {
		out = append(out, trackView{ID: t.ID, Metadata: orNull(t.Metadata), Type: string(t.Type)})
	}
	return out
}

func orNull(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return m
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optSeconds(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	s := int64(d / time.Second)
	return &s
}
