// Package wire holds the on-the-wire types of the Jellyfish v0.5.0 protocols: the protobuf
// PeerMessage (peer socket) and ServerMessage (server socket and webhooks), generated from the
// reference .proto files in proto/. It is a leaf: it imports nothing of ours, so the server SDK
// and the client SDK can share it with the server.
//
// Regenerate with `go generate ./signaling/wire` (needs protoc and protoc-gen-go on PATH).
package wire

//go:generate protoc -I proto --go_out=. --go_opt=paths=source_relative --go_opt=Mpeer_notifications.proto=github.com/jellyfish-go/jellyfish/signaling/wire --go_opt=Mserver_notifications.proto=github.com/jellyfish-go/jellyfish/signaling/wire peer_notifications.proto server_notifications.proto
