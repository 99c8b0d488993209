package jellyfish

// Event is a server notification: one of the types below, each matching a notification of
// Jellyfish v0.5.0's server_notifications.proto. Every event names the room it concerns.
type Event interface {
	// Room is the id of the room the event concerns.
	Room() string
	isEvent()
}

// RoomCreated: a room was created. Config is the room's configuration (its WebhookURL tells a
// webhook notifier where the room's events go).
type RoomCreated struct {
	RoomID string
	Config RoomConfig
}

// RoomDeleted: a room ended normally (deleted, purged for being peerless, or its engine closed).
type RoomDeleted struct{ RoomID string }

// RoomCrashed: a room ended abnormally.
type RoomCrashed struct{ RoomID string }

// PeerAdded: a peer was added to a room.
type PeerAdded struct{ RoomID, PeerID string }

// PeerDeleted: a peer was removed from its room (by the backend, by its disconnected timeout,
// or because its room ended).
type PeerDeleted struct{ RoomID, PeerID string }

// PeerConnected: a peer's client authenticated on the peer socket.
type PeerConnected struct{ RoomID, PeerID string }

// PeerDisconnected: a connected peer's client went away, or a connected peer was removed.
type PeerDisconnected struct{ RoomID, PeerID string }

// PeerCrashed: a peer's media endpoint failed; the peer was removed. Reason may be empty.
type PeerCrashed struct{ RoomID, PeerID, Reason string }

// PeerMetadataUpdated: a peer set its metadata. Metadata is the JSON text of the new value.
type PeerMetadataUpdated struct {
	RoomID, PeerID string
	Metadata       string
}

// ComponentCrashed: a component failed and was removed.
type ComponentCrashed struct{ RoomID, ComponentID string }

// TrackAdded: a peer or a component (exactly one of PeerID and ComponentID is set) published a
// track.
type TrackAdded struct {
	RoomID, PeerID, ComponentID string
	Track                       Track
}

// TrackRemoved: a track ended; also sent for every track of a peer or component that leaves.
type TrackRemoved struct {
	RoomID, PeerID, ComponentID string
	Track                       Track
}

// TrackMetadataUpdated: a track's metadata changed; Track carries the new metadata.
type TrackMetadataUpdated struct {
	RoomID, PeerID, ComponentID string
	Track                       Track
}

// HlsPlayable: the HLS output of a room became playable.
type HlsPlayable struct{ RoomID, ComponentID string }

// HlsUploaded: the HLS output of a room was uploaded to S3.
type HlsUploaded struct{ RoomID string }

// HlsUploadCrashed: the upload of a room's HLS output to S3 failed.
type HlsUploadCrashed struct{ RoomID string }

func (e RoomCreated) Room() string          { return e.RoomID }
func (e RoomDeleted) Room() string          { return e.RoomID }
func (e RoomCrashed) Room() string          { return e.RoomID }
func (e PeerAdded) Room() string            { return e.RoomID }
func (e PeerDeleted) Room() string          { return e.RoomID }
func (e PeerConnected) Room() string        { return e.RoomID }
func (e PeerDisconnected) Room() string     { return e.RoomID }
func (e PeerCrashed) Room() string          { return e.RoomID }
func (e PeerMetadataUpdated) Room() string  { return e.RoomID }
func (e ComponentCrashed) Room() string     { return e.RoomID }
func (e TrackAdded) Room() string           { return e.RoomID }
func (e TrackRemoved) Room() string         { return e.RoomID }
func (e TrackMetadataUpdated) Room() string { return e.RoomID }
func (e HlsPlayable) Room() string          { return e.RoomID }
func (e HlsUploaded) Room() string          { return e.RoomID }
func (e HlsUploadCrashed) Room() string     { return e.RoomID }

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
func (HlsPlayable) isEvent()          {}
func (HlsUploaded) isEvent()          {}
func (HlsUploadCrashed) isEvent()     {}
