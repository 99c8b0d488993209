package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/server"
	"github.com/jellyfish-go/jellyfish/serversdk"
)

// Lifetimes of what this app creates: an empty room ends after roomPurge, a peer whose client is
// gone (closed tab, left) is removed after peerPurge, long enough for the client to reconnect.
const (
	roomPurge = time.Minute
	peerPurge = 30 * time.Second
)

// embeddedConfig configures newEmbedded.
type embeddedConfig struct {
	Address   string // public host:port of the API (peer_websocket_url in REST answers)
	Token     string // server API token of the REST API and the server socket
	Codec     string // vp8, h264 or any
	TestHooks bool   // serve POST /api/test/drop-socket
	Logger    *slog.Logger
}

// embedded is the backend that runs the engine in this process and serves the Jellyfish API
// (REST and both WebSockets) on the app's own address.
type embedded struct {
	engine *jellyfish.Engine
	api    *server.Server
	codec  jellyfish.VideoCodec
	hooks  *testHooks // nil without -test-hooks
	once   sync.Once
}

func newEmbedded(cfg embeddedConfig) (*embedded, error) {
	engine, err := jellyfish.New(jellyfish.Config{Logger: cfg.Logger}) // media and TURN on 127.0.0.1
	if err != nil {
		return nil, err
	}
	// Open the media sockets and the integrated TURN server now, so that a failure shows at start.
	if err := engine.StartMedia(); err != nil {
		engine.Close()
		return nil, fmt.Errorf("media plane: %w", err)
	}
	api, err := server.New(engine, server.Config{ServerAPIToken: cfg.Token, Address: cfg.Address, Logger: cfg.Logger})
	if err != nil {
		engine.Close()
		return nil, err
	}
	e := &embedded{engine: engine, api: api}
	if cfg.Codec != "any" {
		e.codec = jellyfish.VideoCodec(cfg.Codec)
	}
	if cfg.TestHooks {
		e.hooks = newTestHooks(engine, cfg.Logger)
	}
	return e, nil
}

// mount serves the Jellyfish API on mux: every path the app does not use goes to it.
func (e *embedded) mount(mux *http.ServeMux) {
	mux.Handle("/", e.api)
	if e.hooks != nil {
		e.hooks.mount(mux)
	}
}

// Close closes every socket, then the engine. It may be called more than once.
func (e *embedded) Close() error {
	e.once.Do(func() {
		e.api.Close()
		if e.hooks != nil {
			e.hooks.Close()
		}
		e.engine.Close()
	})
	return nil
}

func (e *embedded) join(_ context.Context, roomID, host string) (joinAnswer, error) {
	room, err := e.engine.Room(roomID)
	if errors.Is(err, jellyfish.ErrRoomNotFound) {
		room, err = e.engine.CreateRoom(jellyfish.RoomConfig{
			RoomID: roomID, VideoCodec: e.codec, PeerlessPurgeTimeout: roomPurge, PeerDisconnectedTimeout: peerPurge,
		})
		if errors.Is(err, jellyfish.ErrRoomExists) { // a concurrent join created it
			room, err = e.engine.Room(roomID)
		}
	}
	var invalid *jellyfish.ValidationError
	if errors.As(err, &invalid) {
		return joinAnswer{}, fmt.Errorf("%w: %s", errBadRequest, invalid.Msg)
	}
	if err != nil {
		return joinAnswer{}, fmt.Errorf("room %s: %w", roomID, err)
	}
	peer, token, err := room.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		return joinAnswer{}, fmt.Errorf("add peer to %s: %w", roomID, err)
	}
	// The browser reaches the peer socket where it reached this page.
	return joinAnswer{
		RoomID: room.ID(), PeerID: peer.ID(), Token: token,
		PeerWebsocketURL: host + server.PeerSocketPath,
		Signaling:        signalingURL{Protocol: "ws", Host: host, Path: server.PeerSocketPath},
	}, nil
}

// remote is the backend that drives an existing Jellyfish server through the server SDK.
type remote struct {
	client   *serversdk.Client
	protocol string  // of the peer socket: ws, or wss for an https server
	codec    *string // nil: any
}

func newRemote(baseURL, token, codec string) (*remote, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-jellyfish-url: want http(s)://host:port, got %q", baseURL)
	}
	r := &remote{client: serversdk.NewClient(baseURL, token), protocol: "ws"}
	if u.Scheme == "https" {
		r.protocol = "wss"
	}
	if codec != "any" {
		r.codec = &codec
	}
	return r, nil
}

func (r *remote) Close() error { return nil }

func (r *remote) join(ctx context.Context, roomID, _ string) (joinAnswer, error) {
	_, err := r.client.GetRoom(ctx, roomID)
	if serversdk.IsNotFound(err) {
		_, err = r.client.CreateRoom(ctx, serversdk.RoomConfig{
			RoomID: &roomID, VideoCodec: r.codec,
			PeerlessPurgeTimeout:    new(int(roomPurge / time.Second)),
			PeerDisconnectedTimeout: new(int(peerPurge / time.Second)),
		})
		if serversdk.IsBadRequest(err) { // taken by a concurrent join, or an invalid id
			if _, gerr := r.client.GetRoom(ctx, roomID); gerr == nil {
				err = nil
			} else {
				err = fmt.Errorf("%w: %v", errBadRequest, err)
			}
		}
	}
	if err != nil {
		return joinAnswer{}, fmt.Errorf("room %s: %w", roomID, err)
	}
	p, err := r.client.AddPeer(ctx, roomID, serversdk.PeerOptions{})
	if err != nil {
		return joinAnswer{}, fmt.Errorf("add peer to %s: %w", roomID, err)
	}
	return joinAnswer{
		RoomID: roomID, PeerID: p.Peer.ID, Token: p.Token,
		PeerWebsocketURL: p.PeerWebsocketURL,
		Signaling:        splitSocketURL(p.PeerWebsocketURL, r.protocol),
	}, nil
}
