package serversdk

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// Event is a server notification or a metrics report: one of RoomCreated, RoomDeleted,
// RoomCrashed, PeerAdded, PeerDeleted, PeerConnected, PeerDisconnected, PeerCrashed,
// PeerMetadataUpdated, ComponentCrashed, TrackAdded, TrackRemoved, TrackMetadataUpdated,
// HLSPlayable, HLSUploaded, HLSUploadCrashed or MetricsReport. Use a type switch.
type Event interface {
	isEvent()
}

// RoomCreated: a room was created.
type RoomCreated struct{ RoomID string }

// RoomDeleted: a room was deleted (through the API or by its peerless purge timeout).
type RoomDeleted struct{ RoomID string }

// RoomCrashed: a room ended abnormally.
type RoomCrashed struct{ RoomID string }

// PeerAdded: a peer was added to a room.
type PeerAdded struct{ RoomID, PeerID string }

// PeerDeleted: a peer was removed (through the API, by its disconnect timeout, or with its room).
type PeerDeleted struct{ RoomID, PeerID string }

// PeerConnected: a peer's WebSocket authenticated.
type PeerConnected struct{ RoomID, PeerID string }

// PeerDisconnected: a peer's WebSocket went away; the peer stays in the room.
type PeerDisconnected struct{ RoomID, PeerID string }

// PeerCrashed: a peer's media endpoint failed; the peer was removed.
type PeerCrashed struct {
	RoomID, PeerID string
	// Reason is the failure, "" when unknown.
	Reason string
}

// PeerMetadataUpdated: a peer set its metadata.
type PeerMetadataUpdated struct {
	RoomID, PeerID string
	// Metadata is the JSON text of the new metadata.
	Metadata string
}

// ComponentCrashed: a component failed; it was removed.
type ComponentCrashed struct{ RoomID, ComponentID string }

// TrackAdded: a peer (PeerID set) or a component (ComponentID set) published a track.
type TrackAdded struct {
	RoomID, PeerID, ComponentID string
	Track                       Track
}

// TrackRemoved: a track ended.
type TrackRemoved struct {
	RoomID, PeerID, ComponentID string
	Track                       Track
}

// TrackMetadataUpdated: a track's metadata changed; Track carries the new metadata.
type TrackMetadataUpdated struct {
	RoomID, PeerID, ComponentID string
	Track                       Track
}

// HLSPlayable: an HLS component's playlist became playable.
type HLSPlayable struct{ RoomID, ComponentID string }

// HLSUploaded: a room's HLS output was uploaded to S3.
type HLSUploaded struct{ RoomID string }

// HLSUploadCrashed: uploading a room's HLS output to S3 failed.
type HLSUploadCrashed struct{ RoomID string }

// MetricsReport is a periodic metrics report (SubscribeMetrics).
type MetricsReport struct {
	// JSON is the report, an object keyed "room_id=<id>", "{}" when there is nothing to report.
	JSON string
}

func (RoomCreated) isEvent()          {}
func (RoomDeleted) isEvent()          {}
func (RoomCrashed) isEvent()          {}
func (PeerAdded) isEvent()            {}
func (PeerDeleted) isEvent()          {}
func (PeerConnected) isEvent()        {}
func (PeerDisconnected) isEvent()     {}
func (PeerCrashed) isEvent()          {}
func (PeerMetadataUpdated) isEvent()  {}
func (ComponentCrashed) isEvent()     {}
func (TrackAdded) isEvent()           {}
func (TrackRemoved) isEvent()         {}
func (TrackMetadataUpdated) isEvent() {}
func (HLSPlayable) isEvent()          {}
func (HLSUploaded) isEvent()          {}
func (HLSUploadCrashed) isEvent()     {}
func (MetricsReport) isEvent()        {}

// ErrNotNotification is returned by DecodeNotification for a ServerMessage that is not a
// notification (authentication, subscription, or unknown content).
var ErrNotNotification = errors.New("serversdk: not a notification")

// DecodeNotification decodes one protobuf ServerMessage, as sent in a webhook body
// (Content-Type application/x-protobuf) or a server WebSocket frame, into its Event.
func DecodeNotification(b []byte) (Event, error) {
	var m wire.ServerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("serversdk: decode notification: %w", err)
	}
	if ev := eventOf(&m); ev != nil {
		return ev, nil
	}
	return nil, ErrNotNotification
}

// eventOf maps a ServerMessage to its Event, or nil if it is not one.
func eventOf(m *wire.ServerMessage) Event {
	switch c := m.GetContent().(type) {
	case *wire.ServerMessage_RoomCreated_:
		return RoomCreated{c.RoomCreated.GetRoomId()}
	case *wire.ServerMessage_RoomDeleted_:
		return RoomDeleted{c.RoomDeleted.GetRoomId()}
	case *wire.ServerMessage_RoomCrashed_:
		return RoomCrashed{c.RoomCrashed.GetRoomId()}
	case *wire.ServerMessage_PeerAdded_:
		return PeerAdded{c.PeerAdded.GetRoomId(), c.PeerAdded.GetPeerId()}
	case *wire.ServerMessage_PeerDeleted_:
		return PeerDeleted{c.PeerDeleted.GetRoomId(), c.PeerDeleted.GetPeerId()}
	case *wire.ServerMessage_PeerConnected_:
		return PeerConnected{c.PeerConnected.GetRoomId(), c.PeerConnected.GetPeerId()}
	case *wire.ServerMessage_PeerDisconnected_:
		return PeerDisconnected{c.PeerDisconnected.GetRoomId(), c.PeerDisconnected.GetPeerId()}
	case *wire.ServerMessage_PeerCrashed_:
		x := c.PeerCrashed
		return PeerCrashed{x.GetRoomId(), x.GetPeerId(), x.GetReason()}
	case *wire.ServerMessage_PeerMetadataUpdated_:
		x := c.PeerMetadataUpdated
		return PeerMetadataUpdated{x.GetRoomId(), x.GetPeerId(), x.GetMetadata()}
	case *wire.ServerMessage_ComponentCrashed_:
		return ComponentCrashed{c.ComponentCrashed.GetRoomId(), c.ComponentCrashed.GetComponentId()}
	case *wire.ServerMessage_TrackAdded_:
		x := c.TrackAdded
		return TrackAdded{x.GetRoomId(), x.GetPeerId(), x.GetComponentId(), trackOf(x.GetTrack())}
	case *wire.ServerMessage_TrackRemoved_:
		x := c.TrackRemoved
		return TrackRemoved{x.GetRoomId(), x.GetPeerId(), x.GetComponentId(), trackOf(x.GetTrack())}
	case *wire.ServerMessage_TrackMetadataUpdated_:
		x := c.TrackMetadataUpdated
		return TrackMetadataUpdated{x.GetRoomId(), x.GetPeerId(), x.GetComponentId(), trackOf(x.GetTrack())}
	case *wire.ServerMessage_HlsPlayable_:
		return HLSPlayable{c.HlsPlayable.GetRoomId(), c.HlsPlayable.GetComponentId()}
	case *wire.ServerMessage_HlsUploaded_:
		return HLSUploaded{c.HlsUploaded.GetRoomId()}
	case *wire.ServerMessage_HlsUploadCrashed_:
		return HLSUploadCrashed{c.HlsUploadCrashed.GetRoomId()}
	case *wire.ServerMessage_MetricsReport_:
		return MetricsReport{c.MetricsReport.GetMetrics()}
	}
	return nil
}

func trackOf(t *wire.ServerMessage_Track) Track {
	tr := Track{ID: t.GetId(), Metadata: t.GetMetadata()}
	switch t.GetType() {
	case wire.ServerMessage_TRACK_TYPE_AUDIO:
		tr.Type = TrackTypeAudio
	case wire.ServerMessage_TRACK_TYPE_VIDEO:
		tr.Type = TrackTypeVideo
	}
	return tr
}
