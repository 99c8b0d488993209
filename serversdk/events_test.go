package serversdk_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/serversdk"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The byte examples of server-api.md (sections 8.4 and 11).
func TestDecodeNotificationReferenceBytes(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want serversdk.Event
	}{
		{"RoomCreated", "52 04 0a 02 72 31", serversdk.RoomCreated{RoomID: "r1"}},
		{"TrackAdded", "8a 01 16 0a 02 72 31 12 02 70 31 22 0c 0a 02 74 31 10 01 1a 04 6e 75 6c 6c",
			serversdk.TrackAdded{RoomID: "r1", PeerID: "p1",
				Track: serversdk.Track{ID: "t1", Type: serversdk.TrackTypeVideo, Metadata: "null"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serversdk.DecodeNotification(unhex(t, tc.hex))
			if err != nil || got != tc.want {
				t.Errorf("DecodeNotification = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeNotificationEveryType(t *testing.T) {
	type M = wire.ServerMessage
	track := &wire.ServerMessage_Track{Id: "t1", Type: wire.ServerMessage_TRACK_TYPE_AUDIO, Metadata: `"mic"`}
	audio := serversdk.Track{ID: "t1", Type: serversdk.TrackTypeAudio, Metadata: `"mic"`}
	tests := []struct {
		name string
		msg  *M
		want serversdk.Event
	}{
		{"RoomCreated", &M{Content: &wire.ServerMessage_RoomCreated_{RoomCreated: &wire.ServerMessage_RoomCreated{RoomId: "r"}}},
			serversdk.RoomCreated{RoomID: "r"}},
		{"RoomDeleted", &M{Content: &wire.ServerMessage_RoomDeleted_{RoomDeleted: &wire.ServerMessage_RoomDeleted{RoomId: "r"}}},
			serversdk.RoomDeleted{RoomID: "r"}},
		{"RoomCrashed", &M{Content: &wire.ServerMessage_RoomCrashed_{RoomCrashed: &wire.ServerMessage_RoomCrashed{RoomId: "r"}}},
			serversdk.RoomCrashed{RoomID: "r"}},
		{"PeerAdded", &M{Content: &wire.ServerMessage_PeerAdded_{PeerAdded: &wire.ServerMessage_PeerAdded{RoomId: "r", PeerId: "p"}}},
			serversdk.PeerAdded{RoomID: "r", PeerID: "p"}},
		{"PeerDeleted", &M{Content: &wire.ServerMessage_PeerDeleted_{PeerDeleted: &wire.ServerMessage_PeerDeleted{RoomId: "r", PeerId: "p"}}},
			serversdk.PeerDeleted{RoomID: "r", PeerID: "p"}},
		{"PeerConnected", &M{Content: &wire.ServerMessage_PeerConnected_{PeerConnected: &wire.ServerMessage_PeerConnected{RoomId: "r", PeerId: "p"}}},
			serversdk.PeerConnected{RoomID: "r", PeerID: "p"}},
		{"PeerDisconnected", &M{Content: &wire.ServerMessage_PeerDisconnected_{PeerDisconnected: &wire.ServerMessage_PeerDisconnected{RoomId: "r", PeerId: "p"}}},
			serversdk.PeerDisconnected{RoomID: "r", PeerID: "p"}},
		{"PeerCrashed", &M{Content: &wire.ServerMessage_PeerCrashed_{PeerCrashed: &wire.ServerMessage_PeerCrashed{RoomId: "r", PeerId: "p", Reason: "boom"}}},
			serversdk.PeerCrashed{RoomID: "r", PeerID: "p", Reason: "boom"}},
		{"PeerMetadataUpdated", &M{Content: &wire.ServerMessage_PeerMetadataUpdated_{PeerMetadataUpdated: &wire.ServerMessage_PeerMetadataUpdated{RoomId: "r", PeerId: "p", Metadata: `{"name":"a"}`}}},
			serversdk.PeerMetadataUpdated{RoomID: "r", PeerID: "p", Metadata: `{"name":"a"}`}},
		{"ComponentCrashed", &M{Content: &wire.ServerMessage_ComponentCrashed_{ComponentCrashed: &wire.ServerMessage_ComponentCrashed{RoomId: "r", ComponentId: "c"}}},
			serversdk.ComponentCrashed{RoomID: "r", ComponentID: "c"}},
		{"TrackAdded by component", &M{Content: &wire.ServerMessage_TrackAdded_{TrackAdded: &wire.ServerMessage_TrackAdded{RoomId: "r",
			EndpointInfo: &wire.ServerMessage_TrackAdded_ComponentId{ComponentId: "c"}, Track: track}}},
			serversdk.TrackAdded{RoomID: "r", ComponentID: "c", Track: audio}},
		{"TrackRemoved", &M{Content: &wire.ServerMessage_TrackRemoved_{TrackRemoved: &wire.ServerMessage_TrackRemoved{RoomId: "r",
			EndpointInfo: &wire.ServerMessage_TrackRemoved_PeerId{PeerId: "p"}, Track: track}}},
			serversdk.TrackRemoved{RoomID: "r", PeerID: "p", Track: audio}},
		{"TrackMetadataUpdated", &M{Content: &wire.ServerMessage_TrackMetadataUpdated_{TrackMetadataUpdated: &wire.ServerMessage_TrackMetadataUpdated{RoomId: "r",
			EndpointInfo: &wire.ServerMessage_TrackMetadataUpdated_PeerId{PeerId: "p"}, Track: track}}},
			serversdk.TrackMetadataUpdated{RoomID: "r", PeerID: "p", Track: audio}},
		{"HlsPlayable", &M{Content: &wire.ServerMessage_HlsPlayable_{HlsPlayable: &wire.ServerMessage_HlsPlayable{RoomId: "r", ComponentId: "c"}}},
			serversdk.HLSPlayable{RoomID: "r", ComponentID: "c"}},
		{"HlsUploaded", &M{Content: &wire.ServerMessage_HlsUploaded_{HlsUploaded: &wire.ServerMessage_HlsUploaded{RoomId: "r"}}},
			serversdk.HLSUploaded{RoomID: "r"}},
		{"HlsUploadCrashed", &M{Content: &wire.ServerMessage_HlsUploadCrashed_{HlsUploadCrashed: &wire.ServerMessage_HlsUploadCrashed{RoomId: "r"}}},
			serversdk.HLSUploadCrashed{RoomID: "r"}},
		{"MetricsReport", &M{Content: &wire.ServerMessage_MetricsReport_{MetricsReport: &wire.ServerMessage_MetricsReport{Metrics: "{}"}}},
			serversdk.MetricsReport{JSON: "{}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := serversdk.DecodeNotification(b)
			if err != nil || got != tc.want {
				t.Errorf("DecodeNotification = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeNotificationNotANotification(t *testing.T) {
	for name, hexBytes := range map[string]string{
		"authenticated":      "32 00",
		"auth request":       "3a 0d 0a 0b 64 65 76 65 6c 6f 70 6d 65 6e 74",
		"subscribe request":  "42 02 08 01",
		"subscribe response": "4a 02 08 02",
		"empty":              "",
	} {
		if ev, err := serversdk.DecodeNotification(unhex(t, hexBytes)); !errors.Is(err, serversdk.ErrNotNotification) {
			t.Errorf("%s: DecodeNotification = %#v, %v; want ErrNotNotification", name, ev, err)
		}
	}
	if ev, err := serversdk.DecodeNotification([]byte{0x52, 0x10, 0x0a}); err == nil || errors.Is(err, serversdk.ErrNotNotification) {
		t.Errorf("truncated frame: DecodeNotification = %#v, %v; want a decode error", ev, err)
	}
}
