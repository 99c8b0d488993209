package signaling

import (
	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// decodePeerFrame decodes an inbound peer-socket frame. It returns nil for anything that is not
// a binary frame holding a PeerMessage with content: text frames, undecodable bytes, and empty
// messages. Bytes from the network reach the session only through here (fuzzed).
func decodePeerFrame(typ websocket.MessageType, data []byte) *wire.PeerMessage {
	if typ != websocket.MessageBinary {
		return nil
	}
	var m wire.PeerMessage
	if proto.Unmarshal(data, &m) != nil || m.GetContent() == nil {
		return nil
	}
	return &m
}

// decodeServerFrame is decodePeerFrame for the server socket's ServerMessage.
func decodeServerFrame(typ websocket.MessageType, data []byte) *wire.ServerMessage {
	if typ != websocket.MessageBinary {
		return nil
	}
	var m wire.ServerMessage
	if proto.Unmarshal(data, &m) != nil || m.GetContent() == nil {
		return nil
	}
	return &m
}
