package signaling

import (
	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

type sm = wire.ServerMessage

// Notification maps an engine event to the ServerMessage that carries it on the server socket and
// in webhooks. It returns nil for an event with no v0.5.0 notification.
func Notification(ev jellyfish.Event) *wire.ServerMessage {
	switch e := ev.(type) {
	case jellyfish.RoomCreated:
		return &sm{Content: &wire.ServerMessage_RoomCreated_{RoomCreated: &wire.ServerMessage_RoomCreated{RoomId: e.RoomID}}}
	case jellyfish.RoomDeleted:
		return &sm{Content: &wire.ServerMessage_RoomDeleted_{RoomDeleted: &wire.ServerMessage_RoomDeleted{RoomId: e.RoomID}}}
	case jellyfish.RoomCrashed:
		return &sm{Content: &wire.ServerMessage_RoomCrashed_{RoomCrashed: &wire.ServerMessage_RoomCrashed{RoomId: e.RoomID}}}
	case jellyfish.PeerAdded:
		return &sm{Content: &wire.ServerMessage_PeerAdded_{PeerAdded: &wire.ServerMessage_PeerAdded{RoomId: e.RoomID, PeerId: e.PeerID}}}
	case jellyfish.PeerDeleted:
		return &sm{Content: &wire.ServerMessage_PeerDeleted_{PeerDeleted: &wire.ServerMessage_PeerDeleted{RoomId: e.RoomID, PeerId: e.PeerID}}}
	case jellyfish.PeerConnected:
		return &sm{Content: &wire.ServerMessage_PeerConnected_{PeerConnected: &wire.ServerMessage_PeerConnected{RoomId: e.RoomID, PeerId: e.PeerID}}}
	case jellyfish.PeerDisconnected:
		return &sm{Content: &wire.ServerMessage_PeerDisconnected_{PeerDisconnected: &wire.ServerMessage_PeerDisconnected{RoomId: e.RoomID, PeerId: e.PeerID}}}
	case jellyfish.PeerCrashed:
		return &sm{Content: &wire.ServerMessage_PeerCrashed_{PeerCrashed: &wire.ServerMessage_PeerCrashed{RoomId: e.RoomID, PeerId: e.PeerID, Reason: e.Reason}}}
	case jellyfish.PeerMetadataUpdated:
		return &sm{Content: &wire.ServerMessage_PeerMetadataUpdated_{PeerMetadataUpdated: &wire.ServerMessage_PeerMetadataUpdated{RoomId: e.RoomID, PeerId: e.PeerID, Metadata: e.Metadata}}}
	case jellyfish.ComponentCrashed:
		return &sm{Content: &wire.ServerMessage_ComponentCrashed_{ComponentCrashed: &wire.ServerMessage_ComponentCrashed{RoomId: e.RoomID, ComponentId: e.ComponentID}}}
	case jellyfish.HlsPlayable:
		return &sm{Content: &wire.ServerMessage_HlsPlayable_{HlsPlayable: &wire.ServerMessage_HlsPlayable{RoomId: e.RoomID, ComponentId: e.ComponentID}}}
	case jellyfish.HlsUploaded:
		return &sm{Content: &wire.ServerMessage_HlsUploaded_{HlsUploaded: &wire.ServerMessage_HlsUploaded{RoomId: e.RoomID}}}
	case jellyfish.HlsUploadCrashed:
		return &sm{Content: &wire.ServerMessage_HlsUploadCrashed_{HlsUploadCrashed: &wire.ServerMessage_HlsUploadCrashed{RoomId: e.RoomID}}}
	case jellyfish.TrackAdded:
		m := &wire.ServerMessage_TrackAdded{RoomId: e.RoomID, Track: wireTrack(e.Track)}
		switch {
		case e.ComponentID != "":
			m.EndpointInfo = &wire.ServerMessage_TrackAdded_ComponentId{ComponentId: e.ComponentID}
		default:
			m.EndpointInfo = &wire.ServerMessage_TrackAdded_PeerId{PeerId: e.PeerID}
		}
		return &sm{Content: &wire.ServerMessage_TrackAdded_{TrackAdded: m}}
	case jellyfish.TrackRemoved:
		m := &wire.ServerMessage_TrackRemoved{RoomId: e.RoomID, Track: wireTrack(e.Track)}
		switch {
		case e.ComponentID != "":
			m.EndpointInfo = &wire.ServerMessage_TrackRemoved_ComponentId{ComponentId: e.ComponentID}
		default:
			m.EndpointInfo = &wire.ServerMessage_TrackRemoved_PeerId{PeerId: e.PeerID}
		}
		return &sm{Content: &wire.ServerMessage_TrackRemoved_{TrackRemoved: m}}
	case jellyfish.TrackMetadataUpdated:
		m := &wire.ServerMessage_TrackMetadataUpdated{RoomId: e.RoomID, Track: wireTrack(e.Track)}
		switch {
		case e.ComponentID != "":
			m.EndpointInfo = &wire.ServerMessage_TrackMetadataUpdated_ComponentId{ComponentId: e.ComponentID}
		default:
			m.EndpointInfo = &wire.ServerMessage_TrackMetadataUpdated_PeerId{PeerId: e.PeerID}
		}
		return &sm{Content: &wire.ServerMessage_TrackMetadataUpdated_{TrackMetadataUpdated: m}}
	}
	return nil
}

func wireTrack(t jellyfish.Track) *wire.ServerMessage_Track {
	typ := wire.ServerMessage_TRACK_TYPE_UNSPECIFIED
	switch t.Type {
	case jellyfish.TrackTypeVideo:
		typ = wire.ServerMessage_TRACK_TYPE_VIDEO
	case jellyfish.TrackTypeAudio:
		typ = wire.ServerMessage_TRACK_TYPE_AUDIO
	}
	return &wire.ServerMessage_Track{Id: t.ID, Type: typ, Metadata: t.MetadataJSON()}
}
