package clientsdk

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// Event is a value received from Client.Events: one of EndpointAdded, EndpointRemoved,
// EndpointUpdated, TrackAdded, TrackReady, TrackRemoved, TrackUpdated, VadNotification,
// EncodingSwitched or Disconnected.
type Event interface{ event() }

// EndpointAdded: another endpoint (peer or component) is in the room. Sent for every endpoint
// listed in "connected" and for every later "endpointAdded".
type EndpointAdded struct {
	ID       string
	Type     string          // "webrtc" for peers, else the component type
	Metadata json.RawMessage // JSON; "null" when none
}

// EndpointRemoved: an endpoint left. TrackRemoved events for its remaining tracks come first.
type EndpointRemoved struct{ ID string }

// EndpointUpdated: an endpoint's metadata changed.
type EndpointUpdated struct {
	ID       string
	Metadata json.RawMessage
}

// TrackAdded: a remote track was announced (in "connected" or "tracksAdded"). It becomes
// playable with TrackReady after a negotiation round mapped it.
type TrackAdded struct {
	EndpointID string
	TrackID    string
	Metadata   json.RawMessage
	Simulcast  Simulcast
}

// TrackReady: media of a remote track started (pion's OnTrack after an sdpAnswer mapped its
// mid). The caller must read Remote (Remote.Read or ReadRTP) until it returns an error, or the
// receive buffers fill up and RTCP feedback (NACK, receiver reports) stalls; reading Receiver's
// RTCP is optional. The track ends (Read returns an error) when it is removed, when the session
// ends or on Leave.
type TrackReady struct {
	EndpointID string
	TrackID    string
	Remote     *webrtc.TrackRemote
	Receiver   *webrtc.RTPReceiver
}

// TrackRemoved: a remote track was removed ("tracksRemoved", or its endpoint left).
type TrackRemoved struct {
	EndpointID string
	TrackID    string
}

// TrackUpdated: a remote track's metadata changed.
type TrackUpdated struct {
	EndpointID string
	TrackID    string
	Metadata   json.RawMessage
}

// VadNotification: voice activity of a remote audio track; Status is "speech" or "silence".
type VadNotification struct {
	EndpointID string
	TrackID    string
	Status     string
}

// EncodingSwitched: the simulcast layer ("l", "m", "h") forwarded to this client for a track
// changed; Reason is the server's reason string.
type EncodingSwitched struct {
	EndpointID string
	TrackID    string
	Encoding   string
	Reason     string
}

// Disconnected: the session ended without Leave: the server closed the socket (Reason is the
// close reason, e.g. "Peer removed"), sent an "error" event, or removed this endpoint. The
// PeerConnection is closed; call Leave to release the rest.
type Disconnected struct{ Reason string }

func (EndpointAdded) event()    {}
func (EndpointRemoved) event()  {}
func (EndpointUpdated) event()  {}
func (TrackAdded) event()       {}
func (TrackReady) event()       {}
func (TrackRemoved) event()     {}
func (TrackUpdated) event()     {}
func (VadNotification) event()  {}
func (EncodingSwitched) event() {}
func (Disconnected) event()     {}

// Simulcast is a remote track's simulcast configuration as announced by the server.
type Simulcast struct {
	Enabled           bool
	ActiveEncodings   []string
	DisabledEncodings []string
}

// Endpoint is a snapshot of a remote endpoint and its announced tracks.
type Endpoint struct {
	ID       string
	Type     string
	Metadata json.RawMessage
	Tracks   map[string]Track
}

// Track is a snapshot of a remote track.
type Track struct {
	ID        string
	Metadata  json.RawMessage
	Simulcast Simulcast
	Ready     bool   // TrackReady was emitted
	VadStatus string // last vadNotification status ("" before the first)
	Encoding  string // last encodingSwitched encoding ("" before the first)
}

func simulcastOf(c wire.SimulcastConfig) Simulcast {
	return Simulcast{Enabled: c.Enabled, ActiveEncodings: slices.Clone(c.ActiveEncodings),
		DisabledEncodings: slices.Clone(c.DisabledEncodings)}
}

func (e Endpoint) clone() Endpoint {
	e.Metadata = slices.Clone(e.Metadata)
	e.Tracks = maps.Clone(e.Tracks)
	for id, t := range e.Tracks {
		t.Metadata = slices.Clone(t.Metadata)
		t.Simulcast.ActiveEncodings = slices.Clone(t.Simulcast.ActiveEncodings)
		t.Simulcast.DisabledEncodings = slices.Clone(t.Simulcast.DisabledEncodings)
		e.Tracks[id] = t
	}
	return e
}
