package jellyfish_test

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jellyfish-go/jellyfish"
)

// quietEngine returns an engine that does not log, so that the examples print only their output.
func quietEngine() *jellyfish.Engine {
	e, err := jellyfish.New(jellyfish.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err) // the zero Config never fails
	}
	return e
}

func ExampleEngine_CreateRoom() {
	e := quietEngine()
	defer e.Close()

	room, err := e.CreateRoom(jellyfish.RoomConfig{
		RoomID:               "standup",
		MaxPeers:             jellyfish.Limit(4),
		VideoCodec:           jellyfish.VideoCodecH264,
		WebhookURL:           "https://backend.example.com/jellyfish-hook",
		PeerlessPurgeTimeout: 60 * time.Second,
	})
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	cfg := room.Config()
	fmt.Println("id:", room.ID())
	fmt.Println("maxPeers:", *cfg.MaxPeers)
	fmt.Println("videoCodec:", cfg.VideoCodec)
	fmt.Println("webhookUrl:", cfg.WebhookURL)
	fmt.Println("peerlessPurgeTimeout:", cfg.PeerlessPurgeTimeout)
	fmt.Println("peerDisconnectedTimeout:", cfg.PeerDisconnectedTimeout, "(never)")

	// Invalid options are reported with Jellyfish's own messages.
	var invalid *jellyfish.ValidationError
	_, err = e.CreateRoom(jellyfish.RoomConfig{RoomID: "stand/up"})
	if errors.As(err, &invalid) {
		fmt.Println("invalid:", invalid.Msg)
	}
	_, err = e.CreateRoom(jellyfish.RoomConfig{RoomID: "standup"})
	if errors.Is(err, jellyfish.ErrRoomExists) && errors.As(err, &invalid) {
		fmt.Println("taken:", invalid.Msg)
	}
	// Output:
	// id: standup
	// maxPeers: 4
	// videoCodec: h264
	// webhookUrl: https://backend.example.com/jellyfish-hook
	// peerlessPurgeTimeout: 1m0s
	// peerDisconnectedTimeout: 0s (never)
	// invalid: Cannot add room with id "stand/up" - roomId may contain only alphanumeric characters and hyphens
	// taken: Cannot add room with id "standup" - room already exists
}

func ExampleRoom_AddPeer() {
	e := quietEngine()
	defer e.Close()
	room, err := e.CreateRoom(jellyfish.RoomConfig{RoomID: "one-on-one", MaxPeers: jellyfish.Limit(2)})
	if err != nil {
		fmt.Println("create:", err)
		return
	}

	peer, token, err := room.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		fmt.Println("add:", err)
		return
	}
	// The token is what the peer's client presents on the peer socket; hand it to that client.
	info := peer.Info()
	fmt.Println("type:", info.Type)
	fmt.Println("status:", info.Status)
	fmt.Println("has token:", token != "")

	// The token identifies the peer (Engine.ConnectPeer uses it the same way).
	roomID, peerID, err := e.VerifyPeerToken(token)
	fmt.Println("token names it:", roomID == room.ID() && peerID == peer.ID(), err)

	_, _, _ = room.AddPeer(jellyfish.PeerOptions{}) // the second of two
	if _, _, err := room.AddPeer(jellyfish.PeerOptions{}); errors.Is(err, jellyfish.ErrPeerLimit) {
		fmt.Println("third peer: refused, the room is full")
	}
	// Output:
	// type: webrtc
	// status: disconnected
	// has token: true
	// token names it: true <nil>
	// third peer: refused, the room is full
}

// socket stands in for the peer socket of a client, which package signaling implements.
type socket struct{}

func (socket) SendMediaEvent(string) {}

func (socket) Close(reason jellyfish.DisconnectReason) {
	if reason == jellyfish.ReasonPeerRemoved {
		fmt.Println("socket closed: peer removed")
	}
}

func ExampleEngine_Subscribe() {
	e := quietEngine()
	sub := e.Subscribe(0) // subscribe first, so that no event is missed

	room, _ := e.CreateRoom(jellyfish.RoomConfig{RoomID: "demo"})
	peer, token, _ := room.AddPeer(jellyfish.PeerOptions{})
	if _, err := e.ConnectPeer(token, socket{}); err != nil { // what the peer socket does
		fmt.Println("connect:", err)
	}
	_ = room.RemovePeer(peer.ID())
	_ = e.DeleteRoom(room.ID())
	e.Close() // ends the subscription once its events are read

	for ev := range sub.Events() {
		switch ev := ev.(type) {
		case jellyfish.PeerAdded:
			fmt.Println("peer added, same peer:", ev.PeerID == peer.ID())
		default:
			fmt.Printf("%T in room %s\n", ev, ev.Room())
		}
	}
	fmt.Println("subscription ended:", sub.Err())
	// Output:
	// socket closed: peer removed
	// jellyfish.RoomCreated in room demo
	// peer added, same peer: true
	// jellyfish.PeerConnected in room demo
	// jellyfish.PeerDisconnected in room demo
	// jellyfish.PeerDeleted in room demo
	// jellyfish.RoomDeleted in room demo
	// subscription ended: engine closed
}
