package serversdk

import (
	"context"
	"net/http"
)

// Health returns the server's health report (GET /health).
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.doData(ctx, request{method: http.MethodGet, path: "/health", auth: true}, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// ListRooms returns every room of the server (GET /room).
func (c *Client) ListRooms(ctx context.Context) ([]Room, error) {
	rooms := []Room{}
	if err := c.doData(ctx, request{method: http.MethodGet, path: "/room", auth: true}, &rooms); err != nil {
		return nil, err
	}
	return rooms, nil
}

// CreateRoom creates a room (POST /room). An invalid option is a 400 *APIError whose Message
// names it, e.g. "Expected maxPeers to be a number, got: -1".
func (c *Client) CreateRoom(ctx context.Context, cfg RoomConfig) (*CreatedRoom, error) {
	var r CreatedRoom
	if err := c.doData(ctx, request{method: http.MethodPost, path: "/room", body: cfg, auth: true}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetRoom returns a room (GET /room/{roomID}).
func (c *Client) GetRoom(ctx context.Context, roomID string) (*Room, error) {
	var r Room
	if err := c.doData(ctx, request{method: http.MethodGet, path: path("room", roomID), auth: true}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteRoom deletes a room, disconnecting its peers (DELETE /room/{roomID}).
func (c *Client) DeleteRoom(ctx context.Context, roomID string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path("room", roomID), auth: true})
	return err
}

// AddPeer adds a peer to a room (POST /room/{roomID}/peer) and returns it with the token its
// client authenticates with. A full room is a 503 *APIError (IsServiceUnavailable).
func (c *Client) AddPeer(ctx context.Context, roomID string, opts PeerOptions) (*CreatedPeer, error) {
	type webrtcOptions struct {
		EnableSimulcast *bool `json:"enableSimulcast,omitempty"`
	}
	body := struct {
		Type    string        `json:"type"`
		Options webrtcOptions `json:"options"`
	}{Type: opts.Type, Options: webrtcOptions{opts.EnableSimulcast}}
	if body.Type == "" {
		body.Type = PeerTypeWebRTC
	}
	var p CreatedPeer
	if err := c.doData(ctx, request{method: http.MethodPost, path: path("room", roomID, "peer"), body: body, auth: true}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePeer removes a peer from a room, closing its WebSocket (DELETE /room/{roomID}/peer/{peerID}).
func (c *Client) DeletePeer(ctx context.Context, roomID, peerID string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path("room", roomID, "peer", peerID), auth: true})
	return err
}
