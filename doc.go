// Package jellyfish is an embeddable WebRTC SFU with the architecture and the server API of the
// Jellyfish media server (v0.5.0).
//
// A backend creates an [Engine], creates [Room]s in it, adds [Peer]s (each gets a peer token that a
// client SDK presents on the peer socket) and [Component]s, and follows what happens through typed
// [Event]s from [Engine.Subscribe]. The standalone server in cmd/jellyfish wraps the same Engine in
// the Jellyfish REST API and WebSockets (package server); an embedder can mount that handler on its
// own mux, or use the Go API directly without any HTTP.
//
// # Lifecycle
//
//	e, _ := jellyfish.New(jellyfish.Config{})
//	defer e.Close()
//	room, _ := e.CreateRoom(jellyfish.RoomConfig{MaxPeers: jellyfish.Limit(4)})
//	peer, token, _ := room.AddPeer(jellyfish.PeerOptions{})
//
// A room ends with [Engine.DeleteRoom], with its peerless purge timeout, or with [Engine.Close].
// A peer ends with [Room.RemovePeer], with its room, or with its disconnected timeout.
//
// # Concurrency
//
// Every method of Engine, Room, Peer and Component is safe for concurrent use. Events of one room
// are delivered in the order they happened. Lock order, outermost first: Engine.mu, Room.mu,
// the event hub's mutex; nothing blocks or does I/O while holding any of them: transports are
// closed and timers stopped after the locks are released.
//
// Goroutines: the engine starts none of its own besides the short-lived callbacks of the room and
// peer timers, which it counts and waits for in [Engine.Close].
package jellyfish
