package signaling

import (
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

func FuzzDecodePeerMessage(f *testing.F) {
	f.Add(true, []byte{0x0a, 0x00})              // authenticated
	f.Add(true, []byte("\x12\x07\x0a\x05token")) // auth request
	f.Add(true, []byte("\x1a\x04\x0a\x02{}"))    // media event
	f.Add(false, []byte("hello"))                // text frame
	f.Add(true, []byte{0xff, 0xff, 0xff})        // garbage
	f.Add(true, []byte{})                        // empty message
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		m := decodePeerFrame(typ, data)
		if m == nil {
			return
		}
		if !binary || m.GetContent() == nil {
			t.Fatalf("decoded %v from a frame that should be refused", m)
		}
		// What we accept re-encodes and decodes to the same message.
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var again wire.PeerMessage
		if err := proto.Unmarshal(b, &again); err != nil || !proto.Equal(m, &again) {
			t.Fatalf("round trip: got %v (%v), want %v", &again, err, m)
		}
	})
}

func FuzzDecodeServerMessage(f *testing.F) {
	f.Add(true, []byte("\x3a\x0d\x0a\x0bdevelopment")) // auth request
	f.Add(true, []byte{0x42, 0x02, 0x08, 0x01})        // subscribe notifications
	f.Add(true, []byte{0x42, 0x02, 0x08, 0x07})        // unknown event type
	f.Add(true, []byte{0x32, 0x00})                    // authenticated
	f.Add(false, []byte("x"))
	f.Add(true, []byte{0xff})
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		m := decodeServerFrame(typ, data)
		if m == nil {
			return
		}
		if !binary || m.GetContent() == nil {
			t.Fatalf("decoded %v from a frame that should be refused", m)
		}
		_ = m.GetSubscribeRequest().GetEventType() // nil-safe accessors used by the session
		_ = m.GetAuthRequest().GetToken()
	})
}
