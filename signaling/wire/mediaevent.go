package wire

// Media events: the JSON documents carried in PeerMessage.MediaEvent.data, in both directions,
// as spoken by @jellyfish-dev/ts-client-sdk 0.4.0 and Jellyfish v0.5.0
// (shared/reference/media-events.md sections 1.5, 2, 3, 4 and 9).
//
// Every media event is {"type": <string>, "data": <any>}, "data" omitted when there is none. Some
// events travel inside a "custom" wrapper: {"type":"custom","data":{"type":<inner>,"data":...}}.
// The encoders use the wrapping the reference server and client used; the decoders accept either
// wrapping (custom is unwrapped recursively, at most maxCustomDepth levels).
//
// Decoders check the JSON types of the fields the receiving side needs and normalise the result:
//   - metadata that is absent decodes as JSON null (json.RawMessage("null")); every decoded
//     json.RawMessage is compacted;
//   - maps and slices are never nil (empty when absent or null, where absence is allowed).
//
// Encoders write nil maps as {}, nil slices as [] and nil/empty metadata as null, never escape
// HTML characters, and refuse only values the receiving client cannot use (documented per type).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

var (
	// ErrUnknownEvent is returned (wrapped, with the event type) for a media event whose type is
	// not one this direction knows. Callers normally log and ignore such events.
	ErrUnknownEvent = errors.New("unknown media event")
	// ErrMalformedEvent is returned (wrapped, with details) for invalid JSON, a missing envelope
	// type, or a required field that is absent or has the wrong JSON type.
	ErrMalformedEvent = errors.New("malformed media event")
)

// maxCustomDepth bounds how many nested "custom" wrappers a decoder unwraps.
const maxCustomDepth = 4

// Simulcast encodings (rids) the client uses.
const (
	EncodingLow    = "l"
	EncodingMedium = "m"
	EncodingHigh   = "h"
)

// VadNotification statuses.
const (
	VadSpeech  = "speech"
	VadSilence = "silence"
)

// EncodingSwitched reasons, spelled as Jellyfish v0.5.0 sent them (snake_case; the client stores
// the string without checking it).
const (
	ReasonOther            = "other"
	ReasonLowBandwidth     = "low_bandwidth"
	ReasonEncodingInactive = "encoding_inactive"
)

// Endpoint types. Peers must be "webrtc", or JellyfishClient hides their tracks.
const (
	EndpointWebRTC = "webrtc"
)

// ClientEvent is a media event sent by the client (peer) to the server.
type ClientEvent interface{ clientEvent() }

// ServerEvent is a media event sent by the server to the client (peer).
type ServerEvent interface{ serverEvent() }

// ---------------------------------------------------------------------------------------------
// Client → server events.

// Connect is sent right after authentication ("connect", top level). Metadata is the peer's
// metadata; a missing key decodes as null.
type Connect struct{ Metadata json.RawMessage }

// Disconnect is sent by leave()/disconnect() and after an S→C error ("disconnect", no data).
type Disconnect struct{}

// UpdateEndpointMetadata replaces the peer's metadata ("updateEndpointMetadata", top level).
type UpdateEndpointMetadata struct{ Metadata json.RawMessage }

// UpdateTrackMetadata replaces the metadata of one of the sender's tracks
// ("updateTrackMetadata", top level; data keys trackId, trackMetadata).
type UpdateTrackMetadata struct {
	TrackID       string
	TrackMetadata json.RawMessage
}

// EnableTrackEncoding: the publisher switched a simulcast layer on ("enableTrackEncoding").
type EnableTrackEncoding struct{ TrackID, Encoding string }

// DisableTrackEncoding: the publisher switched a simulcast layer off ("disableTrackEncoding").
type DisableTrackEncoding struct{ TrackID, Encoding string }

// RenegotiateTracks asks the server to start a negotiation round (custom "renegotiateTracks").
type RenegotiateTracks struct{}

// SessionDescription is an RTCSessionDescriptionInit: {"type": "offer"|"answer"|..., "sdp": ...}.
type SessionDescription struct{ Type, SDP string }

// SDPOffer is the client's offer for a round (custom "sdpOffer"; data keys sdpOffer,
// midToTrackId, trackIdToTrackMetadata, trackIdToTrackBitrates). A track id missing from
// TrackIDToMetadata has null metadata. TrackIDToBitrates values are a number (bps) or an object
// rid → bps; see ParseBitrates. Decoded maps are never nil.
type SDPOffer struct {
	Offer             SessionDescription
	MidToTrackID      map[string]string
	TrackIDToMetadata map[string]json.RawMessage
	TrackIDToBitrates map[string]json.RawMessage
}

// ClientCandidate is a local ICE candidate of the client (custom "candidate"). The 0.4.0 client
// sends only candidate and sdpMLineIndex; the encoder writes sdpMLineIndex always (null when nil)
// and sdpMid/usernameFragment only when set.
type ClientCandidate struct {
	Candidate        string
	SDPMLineIndex    *uint16
	SDPMid           *string
	UsernameFragment *string
}

// TrackVariantBitrates reports new bitrates of a published track (custom
// "trackVariantBitrates"). VariantBitrates has the form of a trackIdToTrackBitrates value (see
// ParseBitrates); absent decodes as null.
type TrackVariantBitrates struct {
	TrackID         string
	VariantBitrates json.RawMessage
}

// SetTargetTrackVariant selects the preferred simulcast layer of a received track (custom
// "setTargetTrackVariant").
type SetTargetTrackVariant struct{ TrackID, Variant string }

func (Connect) clientEvent()                {}
func (Disconnect) clientEvent()             {}
func (UpdateEndpointMetadata) clientEvent() {}
func (UpdateTrackMetadata) clientEvent()    {}
func (EnableTrackEncoding) clientEvent()    {}
func (DisableTrackEncoding) clientEvent()   {}
func (RenegotiateTracks) clientEvent()      {}
func (SDPOffer) clientEvent()               {}
func (ClientCandidate) clientEvent()        {}
func (TrackVariantBitrates) clientEvent()   {}
func (SetTargetTrackVariant) clientEvent()  {}

// ---------------------------------------------------------------------------------------------
// Server → client events.

// SimulcastConfig describes the layers of a track. Non-simulcast tracks (audio included) are
// sent as {Enabled: false, ActiveEncodings: ["h"]}.
type SimulcastConfig struct {
	Enabled           bool
	ActiveEncodings   []string
	DisabledEncodings []string
}

// TrackInfo is the value of every "tracks" object.
type TrackInfo struct {
	Metadata        json.RawMessage
	SimulcastConfig SimulcastConfig
}

// Endpoint is an element of Connected.OtherEndpoints. The deprecated "trackIdToMetadata" key is
// derived from Tracks when encoding and ignored when decoding.
type Endpoint struct {
	ID       string
	Type     string
	Metadata json.RawMessage
	Tracks   map[string]TrackInfo
}

// Connected answers Connect ("connected", always top level).
type Connected struct {
	ID             string
	OtherEndpoints []Endpoint
}

// EndpointAdded announces a newly ready endpoint. Encoded with exactly the keys id, type,
// metadata (pitfall 9.1.12).
type EndpointAdded struct {
	ID       string
	Type     string
	Metadata json.RawMessage
}

// EndpointRemoved announces that an endpoint left.
type EndpointRemoved struct{ ID string }

// EndpointUpdated carries an endpoint's new metadata.
type EndpointUpdated struct {
	ID       string
	Metadata json.RawMessage
}

// TracksAdded announces tracks of one endpoint. The deprecated "trackIdToMetadata" key is derived
// from Tracks when encoding and ignored when decoding.
type TracksAdded struct {
	EndpointID string
	Tracks     map[string]TrackInfo
}

// TracksRemoved announces removed tracks of one endpoint (data keys endpointId, trackIds).
type TracksRemoved struct {
	EndpointID string
	TrackIDs   []string
}

// TrackUpdated carries a track's new metadata.
type TrackUpdated struct {
	EndpointID string
	TrackID    string
	Metadata   json.RawMessage
}

// TrackEncodingDisabled: the publisher switched a simulcast layer off.
type TrackEncodingDisabled struct{ EndpointID, TrackID, Encoding string }

// TrackEncodingEnabled: the publisher switched a simulcast layer on.
type TrackEncodingEnabled struct{ EndpointID, TrackID, Encoding string }

// TracksPriority lists the enabled remote tracks.
type TracksPriority struct{ Tracks []string }

// Error makes the client emit joinError(Message) and disconnect ("error", top level).
type Error struct{ Message string }

// TurnServer is an element of OfferData.IntegratedTurnServers. ServerPort is encoded as a JSON
// number (0..65535); the decoder also accepts a decimal string.
type TurnServer struct {
	ServerAddr string
	ServerPort int
	Transport  string
	Username   string
	Password   string
}

// OfferData starts a negotiation round (custom "offerData"). TracksTypes holds the total number
// of recvonly transceivers per kind; "audio" and "video" are always encoded (0 when absent) and
// always present after decoding. Negative counts are refused.
type OfferData struct {
	TracksTypes           map[string]int
	IntegratedTurnServers []TurnServer
}

// SDPAnswer is the server's answer (custom "sdpAnswer"). Type must be "answer"; an empty Type is
// encoded as "answer", anything else is refused in both directions.
type SDPAnswer struct {
	Type         string
	SDP          string
	MidToTrackID map[string]string
}

// ServerCandidate is a server ICE candidate (custom "candidate"). All four keys are always
// encoded, nil pointers as null. At least one of SDPMLineIndex and SDPMid must be set.
type ServerCandidate struct {
	Candidate        string
	SDPMLineIndex    *uint16
	SDPMid           *string
	UsernameFragment *string
}

// EncodingSwitched tells a receiver which layer of a track it now gets (custom
// "encodingSwitched"). Reason is one of the Reason* constants.
type EncodingSwitched struct{ EndpointID, TrackID, Encoding, Reason string }

// VadNotification carries voice activity of an audio track (custom "vadNotification"). Status
// is VadSpeech or VadSilence.
type VadNotification struct{ TrackID, Status string }

// BandwidthEstimation is the estimated bandwidth towards the client in bit/s (custom
// "bandwidthEstimation").
type BandwidthEstimation struct{ Estimation float64 }

func (Connected) serverEvent()             {}
func (EndpointAdded) serverEvent()         {}
func (EndpointRemoved) serverEvent()       {}
func (EndpointUpdated) serverEvent()       {}
func (TracksAdded) serverEvent()           {}
func (TracksRemoved) serverEvent()         {}
func (TrackUpdated) serverEvent()          {}
func (TrackEncodingDisabled) serverEvent() {}
func (TrackEncodingEnabled) serverEvent()  {}
func (TracksPriority) serverEvent()        {}
func (Error) serverEvent()                 {}
func (OfferData) serverEvent()             {}
func (SDPAnswer) serverEvent()             {}
func (ServerCandidate) serverEvent()       {}
func (EncodingSwitched) serverEvent()      {}
func (VadNotification) serverEvent()       {}
func (BandwidthEstimation) serverEvent()   {}

// ---------------------------------------------------------------------------------------------
// Event type names.

// ClientEventType returns the media event type name of ev ("connect", "sdpOffer", ...), or ""
// for nil or a foreign implementation.
func ClientEventType(ev ClientEvent) string {
	ev, _ = derefClient(ev)
	switch ev.(type) {
	case Connect:
		return "connect"
	case Disconnect:
		return "disconnect"
	case UpdateEndpointMetadata:
		return "updateEndpointMetadata"
	case UpdateTrackMetadata:
		return "updateTrackMetadata"
	case EnableTrackEncoding:
		return "enableTrackEncoding"
	case DisableTrackEncoding:
		return "disableTrackEncoding"
	case RenegotiateTracks:
		return "renegotiateTracks"
	case SDPOffer:
		return "sdpOffer"
	case ClientCandidate:
		return "candidate"
	case TrackVariantBitrates:
		return "trackVariantBitrates"
	case SetTargetTrackVariant:
		return "setTargetTrackVariant"
	}
	return ""
}

// ServerEventType returns the media event type name of ev ("connected", "sdpAnswer", ...), or
// "" for nil or a foreign implementation.
func ServerEventType(ev ServerEvent) string {
	ev, _ = derefServer(ev)
	switch ev.(type) {
	case Connected:
		return "connected"
	case EndpointAdded:
		return "endpointAdded"
	case EndpointRemoved:
		return "endpointRemoved"
	case EndpointUpdated:
		return "endpointUpdated"
	case TracksAdded:
		return "tracksAdded"
	case TracksRemoved:
		return "tracksRemoved"
	case TrackUpdated:
		return "trackUpdated"
	case TrackEncodingDisabled:
		return "trackEncodingDisabled"
	case TrackEncodingEnabled:
		return "trackEncodingEnabled"
	case TracksPriority:
		return "tracksPriority"
	case Error:
		return "error"
	case OfferData:
		return "offerData"
	case SDPAnswer:
		return "sdpAnswer"
	case ServerCandidate:
		return "candidate"
	case EncodingSwitched:
		return "encodingSwitched"
	case VadNotification:
		return "vadNotification"
	case BandwidthEstimation:
		return "bandwidthEstimation"
	}
	return ""
}

// derefClient turns a non-nil *T into T; ok is false for nil interfaces and nil pointers.
func derefClient(ev ClientEvent) (ClientEvent, bool) {
	if ev == nil {
		return nil, false
	}
	if v := reflect.ValueOf(ev); v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, false
		}
		if e, ok := v.Elem().Interface().(ClientEvent); ok {
			return e, true
		}
	}
	return ev, true
}

func derefServer(ev ServerEvent) (ServerEvent, bool) {
	if ev == nil {
		return nil, false
	}
	if v := reflect.ValueOf(ev); v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, false
		}
		if e, ok := v.Elem().Interface().(ServerEvent); ok {
			return e, true
		}
	}
	return ev, true
}

// ---------------------------------------------------------------------------------------------
// Encoding.

var jsonNull = json.RawMessage("null")

// envelope is {"type", "data"} with data omitted when nil.
type envelope struct {
	Type string `json:"type"`
	Data any    `json:"data,omitempty"`
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func wrap(typ string, custom bool, data any) ([]byte, error) {
	ev := envelope{Type: typ, Data: data}
	if custom {
		ev = envelope{Type: "custom", Data: ev}
	}
	b, err := marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("wire: encoding media event %q: %w", typ, err)
	}
	return b, nil
}

// meta returns m, or JSON null for nil/empty metadata.
func meta(m json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(m)) == 0 {
		return jsonNull
	}
	return m
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func strMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func rawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = meta(v)
	}
	return out
}

type sdpOfferJSON struct {
	SDPOffer               sessionDescriptionJSON     `json:"sdpOffer"`
	MidToTrackID           map[string]string          `json:"midToTrackId"`
	TrackIDToTrackMetadata map[string]json.RawMessage `json:"trackIdToTrackMetadata"`
	TrackIDToTrackBitrates map[string]json.RawMessage `json:"trackIdToTrackBitrates"`
}

type sessionDescriptionJSON struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type clientCandidateJSON struct {
	Candidate        string  `json:"candidate"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// EncodeClientEvent encodes a client → server media event (T or *T) with the wrapping the
// 0.4.0 client uses.
func EncodeClientEvent(ev ClientEvent) ([]byte, error) {
	ev, ok := derefClient(ev)
	if !ok {
		return nil, errors.New("wire: encoding nil client media event")
	}
	typ := ClientEventType(ev)
	switch e := ev.(type) {
	case Connect:
		return wrap(typ, false, map[string]json.RawMessage{"metadata": meta(e.Metadata)})
	case Disconnect:
		return wrap(typ, false, nil)
	case UpdateEndpointMetadata:
		return wrap(typ, false, map[string]json.RawMessage{"metadata": meta(e.Metadata)})
	case UpdateTrackMetadata:
		return wrap(typ, false, struct {
			TrackID       string          `json:"trackId"`
			TrackMetadata json.RawMessage `json:"trackMetadata"`
		}{e.TrackID, meta(e.TrackMetadata)})
	case EnableTrackEncoding:
		return wrap(typ, false, trackEncodingJSON{TrackID: e.TrackID, Encoding: e.Encoding})
	case DisableTrackEncoding:
		return wrap(typ, false, trackEncodingJSON{TrackID: e.TrackID, Encoding: e.Encoding})
	case RenegotiateTracks:
		return wrap(typ, true, nil)
	case SDPOffer:
		return wrap(typ, true, sdpOfferJSON{
			SDPOffer:               sessionDescriptionJSON{Type: e.Offer.Type, SDP: e.Offer.SDP},
			MidToTrackID:           strMap(e.MidToTrackID),
			TrackIDToTrackMetadata: rawMap(e.TrackIDToMetadata),
			TrackIDToTrackBitrates: rawMap(e.TrackIDToBitrates),
		})
	case ClientCandidate:
		return wrap(typ, true, clientCandidateJSON(e))
	case TrackVariantBitrates:
		return wrap(typ, true, struct {
			TrackID         string          `json:"trackId"`
			VariantBitrates json.RawMessage `json:"variantBitrates"`
		}{e.TrackID, meta(e.VariantBitrates)})
	case SetTargetTrackVariant:
		return wrap(typ, true, struct {
			TrackID string `json:"trackId"`
			Variant string `json:"variant"`
		}{e.TrackID, e.Variant})
	}
	return nil, fmt.Errorf("wire: encoding client media event: unsupported type %T", ev)
}

type trackEncodingJSON struct {
	EndpointID *string `json:"endpointId,omitempty"`
	TrackID    string  `json:"trackId"`
	Encoding   string  `json:"encoding"`
}

type simulcastConfigJSON struct {
	Enabled           bool     `json:"enabled"`
	ActiveEncodings   []string `json:"activeEncodings"`
	DisabledEncodings []string `json:"disabledEncodings"`
}

type trackInfoJSON struct {
	Metadata        json.RawMessage     `json:"metadata"`
	SimulcastConfig simulcastConfigJSON `json:"simulcastConfig"`
}

type endpointJSON struct {
	ID                string                     `json:"id"`
	Type              string                     `json:"type"`
	Metadata          json.RawMessage            `json:"metadata"`
	TrackIDToMetadata map[string]json.RawMessage `json:"trackIdToMetadata"`
	Tracks            map[string]trackInfoJSON   `json:"tracks"`
}

type turnServerJSON struct {
	ServerAddr string `json:"serverAddr"`
	ServerPort int    `json:"serverPort"`
	Transport  string `json:"transport"`
	Username   string `json:"username"`
	Password   string `json:"password"`
}

type serverCandidateJSON struct {
	Candidate        string  `json:"candidate"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	SDPMid           *string `json:"sdpMid"`
	UsernameFragment *string `json:"usernameFragment"`
}

// tracksJSON returns the "tracks" object and the derived "trackIdToMetadata" object.
func tracksJSON(tracks map[string]TrackInfo) (map[string]trackInfoJSON, map[string]json.RawMessage) {
	out := make(map[string]trackInfoJSON, len(tracks))
	md := make(map[string]json.RawMessage, len(tracks))
	for id, t := range tracks {
		out[id] = trackInfoJSON{
			Metadata: meta(t.Metadata),
			SimulcastConfig: simulcastConfigJSON{
				Enabled:           t.SimulcastConfig.Enabled,
				ActiveEncodings:   strs(t.SimulcastConfig.ActiveEncodings),
				DisabledEncodings: strs(t.SimulcastConfig.DisabledEncodings),
			},
		}
		md[id] = meta(t.Metadata)
	}
	return out, md
}

// EncodeServerEvent encodes a server → client media event (T or *T) with the wrapping
// Jellyfish v0.5.0 used (section 1.5).
func EncodeServerEvent(ev ServerEvent) ([]byte, error) {
	ev, ok := derefServer(ev)
	if !ok {
		return nil, errors.New("wire: encoding nil server media event")
	}
	typ := ServerEventType(ev)
	switch e := ev.(type) {
	case Connected:
		eps := make([]endpointJSON, 0, len(e.OtherEndpoints))
		for _, ep := range e.OtherEndpoints {
			tracks, md := tracksJSON(ep.Tracks)
			eps = append(eps, endpointJSON{ID: ep.ID, Type: ep.Type, Metadata: meta(ep.Metadata),
				TrackIDToMetadata: md, Tracks: tracks})
		}
		return wrap(typ, false, struct {
			ID             string         `json:"id"`
			OtherEndpoints []endpointJSON `json:"otherEndpoints"`
		}{e.ID, eps})
	case EndpointAdded:
		return wrap(typ, false, struct {
			ID       string          `json:"id"`
			Type     string          `json:"type"`
			Metadata json.RawMessage `json:"metadata"`
		}{e.ID, e.Type, meta(e.Metadata)})
	case EndpointRemoved:
		return wrap(typ, false, struct {
			ID string `json:"id"`
		}{e.ID})
	case EndpointUpdated:
		return wrap(typ, false, struct {
			ID       string          `json:"id"`
			Metadata json.RawMessage `json:"metadata"`
		}{e.ID, meta(e.Metadata)})
	case TracksAdded:
		tracks, md := tracksJSON(e.Tracks)
		return wrap(typ, false, struct {
			EndpointID        string                     `json:"endpointId"`
			TrackIDToMetadata map[string]json.RawMessage `json:"trackIdToMetadata"`
			Tracks            map[string]trackInfoJSON   `json:"tracks"`
		}{e.EndpointID, md, tracks})
	case TracksRemoved:
		return wrap(typ, false, struct {
			EndpointID string   `json:"endpointId"`
			TrackIDs   []string `json:"trackIds"`
		}{e.EndpointID, strs(e.TrackIDs)})
	case TrackUpdated:
		return wrap(typ, false, struct {
			EndpointID string          `json:"endpointId"`
			TrackID    string          `json:"trackId"`
			Metadata   json.RawMessage `json:"metadata"`
		}{e.EndpointID, e.TrackID, meta(e.Metadata)})
	case TrackEncodingDisabled:
		return wrap(typ, false, trackEncodingJSON{EndpointID: &e.EndpointID, TrackID: e.TrackID, Encoding: e.Encoding})
	case TrackEncodingEnabled:
		return wrap(typ, false, trackEncodingJSON{EndpointID: &e.EndpointID, TrackID: e.TrackID, Encoding: e.Encoding})
	case TracksPriority:
		return wrap(typ, false, struct {
			Tracks []string `json:"tracks"`
		}{strs(e.Tracks)})
	case Error:
		return wrap(typ, false, struct {
			Message string `json:"message"`
		}{e.Message})
	case OfferData:
		tt := map[string]int{"audio": 0, "video": 0}
		for k, v := range e.TracksTypes {
			if v < 0 {
				return nil, fmt.Errorf("wire: encoding media event %q: negative tracksTypes[%q] = %d", typ, k, v)
			}
			tt[k] = v
		}
		turns := make([]turnServerJSON, 0, len(e.IntegratedTurnServers))
		for i, s := range e.IntegratedTurnServers {
			if s.ServerPort < 0 || s.ServerPort > math.MaxUint16 {
				return nil, fmt.Errorf("wire: encoding media event %q: integratedTurnServers[%d].serverPort %d out of range", typ, i, s.ServerPort)
			}
			turns = append(turns, turnServerJSON(s))
		}
		return wrap(typ, true, struct {
			TracksTypes           map[string]int   `json:"tracksTypes"`
			IntegratedTurnServers []turnServerJSON `json:"integratedTurnServers"`
		}{tt, turns})
	case SDPAnswer:
		t := e.Type
		if t == "" {
			t = "answer"
		}
		if t != "answer" {
			return nil, fmt.Errorf("wire: encoding media event %q: type %q, want \"answer\"", typ, e.Type)
		}
		return wrap(typ, true, struct {
			Type         string            `json:"type"`
			SDP          string            `json:"sdp"`
			MidToTrackID map[string]string `json:"midToTrackId"`
		}{t, e.SDP, strMap(e.MidToTrackID)})
	case ServerCandidate:
		if e.SDPMLineIndex == nil && e.SDPMid == nil {
			return nil, fmt.Errorf("wire: encoding media event %q: sdpMLineIndex and sdpMid are both null", typ)
		}
		return wrap(typ, true, serverCandidateJSON(e))
	case EncodingSwitched:
		return wrap(typ, true, struct {
			EndpointID string `json:"endpointId"`
			TrackID    string `json:"trackId"`
			Encoding   string `json:"encoding"`
			Reason     string `json:"reason"`
		}{e.EndpointID, e.TrackID, e.Encoding, e.Reason})
	case VadNotification:
		return wrap(typ, true, struct {
			TrackID string `json:"trackId"`
			Status  string `json:"status"`
		}{e.TrackID, e.Status})
	case BandwidthEstimation:
		return wrap(typ, true, struct {
			Estimation float64 `json:"estimation"`
		}{e.Estimation})
	}
	return nil, fmt.Errorf("wire: encoding server media event: unsupported type %T", ev)
}

// ---------------------------------------------------------------------------------------------
// Decoding.

// object is a decoded JSON object with the path used in error messages.
type object struct {
	path string
	m    map[string]json.RawMessage
}

// kind names the JSON type of a valid JSON value.
func kind(raw json.RawMessage) string {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

func isNull(raw json.RawMessage) bool { return raw == nil || kind(raw) == "null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parseObject parses raw as a JSON object. Absent or null is an empty object when optional.
func parseObject(path string, raw json.RawMessage, optional bool) (object, error) {
	o := object{path: path, m: map[string]json.RawMessage{}}
	if isNull(raw) {
		if optional {
			return o, nil
		}
		if raw == nil {
			return o, fmt.Errorf("%s: missing", path)
		}
		return o, fmt.Errorf("%s: want object, got null", path)
	}
	if k := kind(raw); k != "object" {
		return o, fmt.Errorf("%s: want object, got %s", path, k)
	}
	if err := json.Unmarshal(raw, &o.m); err != nil {
		return o, fmt.Errorf("%s: %v", path, err)
	}
	return o, nil
}

func (o object) obj(key string, optional bool) (object, error) {
	return parseObject(join(o.path, key), o.m[key], optional)
}

func typeErr(path string, want string, raw json.RawMessage) error {
	if raw == nil {
		return fmt.Errorf("%s: missing", path)
	}
	return fmt.Errorf("%s: want %s, got %s", path, want, kind(raw))
}

func asString(path string, raw json.RawMessage) (string, error) {
	var s string
	if kind(raw) != "string" {
		return "", typeErr(path, "string", raw)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	return s, nil
}

// str returns a required string.
func (o object) str(key string) (string, error) {
	return asString(join(o.path, key), o.m[key])
}

// optStr returns a string that may be absent or null ("" then).
func (o object) optStr(key string) (string, error) {
	raw := o.m[key]
	if isNull(raw) {
		return "", nil
	}
	return asString(join(o.path, key), raw)
}

// strPtr returns a string that may be absent or null (nil then).
func (o object) strPtr(key string) (*string, error) {
	raw := o.m[key]
	if isNull(raw) {
		return nil, nil
	}
	s, err := asString(join(o.path, key), raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func asNumber(path string, raw json.RawMessage) (float64, error) {
	if kind(raw) != "number" {
		return 0, typeErr(path, "number", raw)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	return f, nil
}

// asInt parses a JSON number that must be an integer in [lo, hi].
func asInt(path string, raw json.RawMessage, lo, hi float64) (int, error) {
	f, err := asNumber(path, raw)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < lo || f > hi {
		return 0, fmt.Errorf("%s: want an integer in [%v, %v], got %s", path, lo, hi, bytes.TrimSpace(raw))
	}
	return int(f), nil
}

// uint16Ptr returns a number in [0, 65535] that may be absent or null (nil then).
func (o object) uint16Ptr(key string) (*uint16, error) {
	raw := o.m[key]
	if isNull(raw) {
		return nil, nil
	}
	n, err := asInt(join(o.path, key), raw, 0, math.MaxUint16)
	if err != nil {
		return nil, err
	}
	u := uint16(n)
	return &u, nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		// raw comes from a successful parse, so this does not happen.
		return append(json.RawMessage(nil), raw...)
	}
	return buf.Bytes()
}

// anyJSON returns the compacted value of key, JSON null when absent.
func (o object) anyJSON(key string) json.RawMessage {
	raw := o.m[key]
	if raw == nil {
		return json.RawMessage("null")
	}
	return compact(raw)
}

func (o object) boolean(key string) (bool, error) {
	raw := o.m[key]
	if isNull(raw) {
		return false, nil
	}
	if kind(raw) != "boolean" {
		return false, typeErr(join(o.path, key), "boolean", raw)
	}
	return bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("t")), nil
}

// strSlice returns an array of strings, never nil; absent/null is empty when optional.
func (o object) strSlice(key string, optional bool) ([]string, error) {
	path := join(o.path, key)
	raw := o.m[key]
	if isNull(raw) && optional {
		return []string{}, nil
	}
	if kind(raw) != "array" {
		return nil, typeErr(path, "array", raw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := asString(fmt.Sprintf("%s[%d]", path, i), it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// strMap returns an object of strings, never nil; absent or null is empty.
func (o object) strMap(key string) (map[string]string, error) {
	m, err := o.obj(key, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m.m))
	for k, v := range m.m {
		s, err := asString(join(m.path, strconv.Quote(k)), v)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

// rawMap returns an object of arbitrary (compacted) values, never nil; absent or null is empty.
func (o object) rawMap(key string) (map[string]json.RawMessage, error) {
	m, err := o.obj(key, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(m.m))
	for k, v := range m.m {
		out[k] = compact(v)
	}
	return out, nil
}

// unwrap parses the envelope, removing up to maxCustomDepth custom wrappers.
func unwrap(data []byte) (typ string, payload json.RawMessage, err error) {
	if !json.Valid(data) {
		// Find the syntax error for the message.
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return "", nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	env, err := parseObject("event", data, false)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	for depth := 0; ; depth++ {
		typ, err = env.str("type")
		if err != nil {
			return "", nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
		}
		payload = env.m["data"]
		if typ != "custom" {
			return typ, payload, nil
		}
		if depth == maxCustomDepth {
			return "", nil, fmt.Errorf("%w: more than %d nested custom wrappers", ErrMalformedEvent, maxCustomDepth)
		}
		if env, err = env.obj("data", false); err != nil {
			return "", nil, fmt.Errorf("%w: custom: %v", ErrMalformedEvent, err)
		}
	}
}

// DecodeClientEvent decodes a client → server media event (top level or custom-wrapped). It
// returns the event as a value (Connect, SDPOffer, ...), an error wrapping ErrUnknownEvent for an
// unknown type, or one wrapping ErrMalformedEvent.
func DecodeClientEvent(data []byte) (ClientEvent, error) {
	typ, payload, err := unwrap(data)
	if err != nil {
		return nil, err
	}
	ev, err := decodeClient(typ, payload)
	if err != nil {
		if errors.Is(err, ErrUnknownEvent) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedEvent, typ, err)
	}
	return ev, nil
}

func decodeClient(typ string, payload json.RawMessage) (ClientEvent, error) {
	switch typ {
	case "disconnect":
		return Disconnect{}, nil
	case "renegotiateTracks":
		return RenegotiateTracks{}, nil
	case "connect", "updateEndpointMetadata", "updateTrackMetadata", "enableTrackEncoding",
		"disableTrackEncoding", "sdpOffer", "candidate", "trackVariantBitrates", "setTargetTrackVariant":
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownEvent, typ)
	}
	d, err := parseObject("data", payload, true)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "connect":
		return Connect{Metadata: d.anyJSON("metadata")}, nil
	case "updateEndpointMetadata":
		return UpdateEndpointMetadata{Metadata: d.anyJSON("metadata")}, nil
	case "updateTrackMetadata":
		id, err := d.str("trackId")
		if err != nil {
			return nil, err
		}
		return UpdateTrackMetadata{TrackID: id, TrackMetadata: d.anyJSON("trackMetadata")}, nil
	case "enableTrackEncoding", "disableTrackEncoding":
		id, err := d.str("trackId")
		if err != nil {
			return nil, err
		}
		enc, err := d.str("encoding")
		if err != nil {
			return nil, err
		}
		if typ == "enableTrackEncoding" {
			return EnableTrackEncoding{TrackID: id, Encoding: enc}, nil
		}
		return DisableTrackEncoding{TrackID: id, Encoding: enc}, nil
	case "sdpOffer":
		var e SDPOffer
		o, err := d.obj("sdpOffer", false)
		if err != nil {
			return nil, err
		}
		if e.Offer.Type, err = o.str("type"); err != nil {
			return nil, err
		}
		if e.Offer.SDP, err = o.str("sdp"); err != nil {
			return nil, err
		}
		if e.MidToTrackID, err = d.strMap("midToTrackId"); err != nil {
			return nil, err
		}
		if e.TrackIDToMetadata, err = d.rawMap("trackIdToTrackMetadata"); err != nil {
			return nil, err
		}
		if e.TrackIDToBitrates, err = d.rawMap("trackIdToTrackBitrates"); err != nil {
			return nil, err
		}
		return e, nil
	case "candidate":
		var e ClientCandidate
		if e.Candidate, err = d.str("candidate"); err != nil {
			return nil, err
		}
		if e.SDPMLineIndex, err = d.uint16Ptr("sdpMLineIndex"); err != nil {
			return nil, err
		}
		if e.SDPMid, err = d.strPtr("sdpMid"); err != nil {
			return nil, err
		}
		if e.UsernameFragment, err = d.strPtr("usernameFragment"); err != nil {
			return nil, err
		}
		return e, nil
	case "trackVariantBitrates":
		id, err := d.str("trackId")
		if err != nil {
			return nil, err
		}
		return TrackVariantBitrates{TrackID: id, VariantBitrates: d.anyJSON("variantBitrates")}, nil
	default: // "setTargetTrackVariant"
		id, err := d.str("trackId")
		if err != nil {
			return nil, err
		}
		v, err := d.str("variant")
		if err != nil {
			return nil, err
		}
		return SetTargetTrackVariant{TrackID: id, Variant: v}, nil
	}
}

// DecodeServerEvent decodes a server → client media event (top level or custom-wrapped), for
// the Go client SDK. It returns the event as a value (Connected, SDPAnswer, ...), an error
// wrapping ErrUnknownEvent for an unknown type, or one wrapping ErrMalformedEvent.
func DecodeServerEvent(data []byte) (ServerEvent, error) {
	typ, payload, err := unwrap(data)
	if err != nil {
		return nil, err
	}
	ev, err := decodeServer(typ, payload)
	if err != nil {
		if errors.Is(err, ErrUnknownEvent) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedEvent, typ, err)
	}
	return ev, nil
}

func decodeTracks(d object, key string) (map[string]TrackInfo, error) {
	o, err := d.obj(key, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]TrackInfo, len(o.m))
	for id, raw := range o.m {
		t, err := parseObject(join(o.path, strconv.Quote(id)), raw, false)
		if err != nil {
			return nil, err
		}
		info := TrackInfo{Metadata: t.anyJSON("metadata")}
		sc, err := t.obj("simulcastConfig", true)
		if err != nil {
			return nil, err
		}
		if info.SimulcastConfig.Enabled, err = sc.boolean("enabled"); err != nil {
			return nil, err
		}
		if info.SimulcastConfig.ActiveEncodings, err = sc.strSlice("activeEncodings", true); err != nil {
			return nil, err
		}
		if info.SimulcastConfig.DisabledEncodings, err = sc.strSlice("disabledEncodings", true); err != nil {
			return nil, err
		}
		out[id] = info
	}
	return out, nil
}

// strs decodes the required string fields keys of d, in order.
func (o object) strs(keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		s, err := o.str(k)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func decodeServer(typ string, payload json.RawMessage) (ServerEvent, error) {
	switch typ {
	case "connected", "endpointAdded", "endpointRemoved", "endpointUpdated", "tracksAdded",
		"tracksRemoved", "trackUpdated", "trackEncodingDisabled", "trackEncodingEnabled",
		"tracksPriority", "error", "offerData", "sdpAnswer", "candidate", "encodingSwitched",
		"vadNotification", "bandwidthEstimation":
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownEvent, typ)
	}
	d, err := parseObject("data", payload, false)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "connected":
		id, err := d.str("id")
		if err != nil {
			return nil, err
		}
		raw := d.m["otherEndpoints"]
		if kind(raw) != "array" {
			return nil, typeErr("data.otherEndpoints", "array", raw)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("data.otherEndpoints: %v", err)
		}
		e := Connected{ID: id, OtherEndpoints: make([]Endpoint, 0, len(items))}
		for i, it := range items {
			o, err := parseObject(fmt.Sprintf("data.otherEndpoints[%d]", i), it, false)
			if err != nil {
				return nil, err
			}
			s, err := o.strs("id", "type")
			if err != nil {
				return nil, err
			}
			tracks, err := decodeTracks(o, "tracks")
			if err != nil {
				return nil, err
			}
			e.OtherEndpoints = append(e.OtherEndpoints, Endpoint{ID: s[0], Type: s[1],
				Metadata: o.anyJSON("metadata"), Tracks: tracks})
		}
		return e, nil
	case "endpointAdded":
		s, err := d.strs("id", "type")
		if err != nil {
			return nil, err
		}
		return EndpointAdded{ID: s[0], Type: s[1], Metadata: d.anyJSON("metadata")}, nil
	case "endpointRemoved":
		id, err := d.str("id")
		if err != nil {
			return nil, err
		}
		return EndpointRemoved{ID: id}, nil
	case "endpointUpdated":
		id, err := d.str("id")
		if err != nil {
			return nil, err
		}
		return EndpointUpdated{ID: id, Metadata: d.anyJSON("metadata")}, nil
	case "tracksAdded":
		id, err := d.str("endpointId")
		if err != nil {
			return nil, err
		}
		tracks, err := decodeTracks(d, "tracks")
		if err != nil {
			return nil, err
		}
		return TracksAdded{EndpointID: id, Tracks: tracks}, nil
	case "tracksRemoved":
		id, err := d.str("endpointId")
		if err != nil {
			return nil, err
		}
		ids, err := d.strSlice("trackIds", false)
		if err != nil {
			return nil, err
		}
		return TracksRemoved{EndpointID: id, TrackIDs: ids}, nil
	case "trackUpdated":
		s, err := d.strs("endpointId", "trackId")
		if err != nil {
			return nil, err
		}
		return TrackUpdated{EndpointID: s[0], TrackID: s[1], Metadata: d.anyJSON("metadata")}, nil
	case "trackEncodingDisabled", "trackEncodingEnabled":
		s, err := d.strs("endpointId", "trackId", "encoding")
		if err != nil {
			return nil, err
		}
		if typ == "trackEncodingDisabled" {
			return TrackEncodingDisabled{EndpointID: s[0], TrackID: s[1], Encoding: s[2]}, nil
		}
		return TrackEncodingEnabled{EndpointID: s[0], TrackID: s[1], Encoding: s[2]}, nil
	case "tracksPriority":
		tracks, err := d.strSlice("tracks", false)
		if err != nil {
			return nil, err
		}
		return TracksPriority{Tracks: tracks}, nil
	case "error":
		msg, err := d.str("message")
		if err != nil {
			return nil, err
		}
		return Error{Message: msg}, nil
	case "offerData":
		return decodeOfferData(d)
	case "sdpAnswer":
		s, err := d.strs("type", "sdp")
		if err != nil {
			return nil, err
		}
		if s[0] != "answer" {
			return nil, fmt.Errorf("data.type: want \"answer\", got %q", s[0])
		}
		mids, err := d.strMap("midToTrackId")
		if err != nil {
			return nil, err
		}
		return SDPAnswer{Type: s[0], SDP: s[1], MidToTrackID: mids}, nil
	case "candidate":
		var e ServerCandidate
		if e.Candidate, err = d.str("candidate"); err != nil {
			return nil, err
		}
		if e.SDPMLineIndex, err = d.uint16Ptr("sdpMLineIndex"); err != nil {
			return nil, err
		}
		if e.SDPMid, err = d.strPtr("sdpMid"); err != nil {
			return nil, err
		}
		if e.UsernameFragment, err = d.strPtr("usernameFragment"); err != nil {
			return nil, err
		}
		if e.SDPMLineIndex == nil && e.SDPMid == nil {
			return nil, errors.New("data: sdpMLineIndex and sdpMid are both null")
		}
		return e, nil
	case "encodingSwitched":
		s, err := d.strs("trackId", "encoding")
		if err != nil {
			return nil, err
		}
		e := EncodingSwitched{TrackID: s[0], Encoding: s[1]}
		if e.EndpointID, err = d.optStr("endpointId"); err != nil {
			return nil, err
		}
		if e.Reason, err = d.optStr("reason"); err != nil {
			return nil, err
		}
		return e, nil
	case "vadNotification":
		s, err := d.strs("trackId", "status")
		if err != nil {
			return nil, err
		}
		return VadNotification{TrackID: s[0], Status: s[1]}, nil
	default: // "bandwidthEstimation"
		f, err := asNumber("data.estimation", d.m["estimation"])
		if err != nil {
			return nil, err
		}
		return BandwidthEstimation{Estimation: f}, nil
	}
}

func decodeOfferData(d object) (ServerEvent, error) {
	tt, err := d.obj("tracksTypes", false)
	if err != nil {
		return nil, err
	}
	e := OfferData{TracksTypes: map[string]int{"audio": 0, "video": 0}}
	for k, raw := range tt.m {
		n, err := asInt(join(tt.path, strconv.Quote(k)), raw, 0, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		e.TracksTypes[k] = n
	}
	raw := d.m["integratedTurnServers"]
	if kind(raw) != "array" {
		return nil, typeErr("data.integratedTurnServers", "array", raw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("data.integratedTurnServers: %v", err)
	}
	e.IntegratedTurnServers = make([]TurnServer, 0, len(items))
	for i, it := range items {
		o, err := parseObject(fmt.Sprintf("data.integratedTurnServers[%d]", i), it, false)
		if err != nil {
			return nil, err
		}
		s, err := o.strs("serverAddr", "transport", "username", "password")
		if err != nil {
			return nil, err
		}
		var port int
		path := join(o.path, "serverPort")
		switch p := o.m["serverPort"]; kind(p) {
		case "string":
			ps, err := asString(path, p)
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseUint(strings.TrimSpace(ps), 10, 16)
			if err != nil {
				return nil, fmt.Errorf("%s: want a port number, got %q", path, ps)
			}
			port = int(n)
		default:
			if port, err = asInt(path, p, 0, math.MaxUint16); err != nil {
				return nil, err
			}
		}
		e.IntegratedTurnServers = append(e.IntegratedTurnServers, TurnServer{
			ServerAddr: s[0], ServerPort: port, Transport: s[1], Username: s[2], Password: s[3]})
	}
	return e, nil
}

// ParseBitrates interprets a trackIdToTrackBitrates value or TrackVariantBitrates.VariantBitrates:
// a number is the bitrate of a single-encoding track and is reported under "h" (as Jellyfish
// did); an object maps rids to bit/s. Null or empty gives an empty map.
func ParseBitrates(raw json.RawMessage) (map[string]float64, error) {
	out := map[string]float64{}
	if len(bytes.TrimSpace(raw)) == 0 || isNull(raw) {
		return out, nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("wire: bitrates: invalid JSON")
	}
	switch kind(raw) {
	case "number":
		f, err := asNumber("bitrates", raw)
		if err != nil {
			return nil, fmt.Errorf("wire: %v", err)
		}
		out[EncodingHigh] = f
		return out, nil
	case "object":
		o, err := parseObject("bitrates", raw, false)
		if err != nil {
			return nil, fmt.Errorf("wire: %v", err)
		}
		for k, v := range o.m {
			f, err := asNumber(join("bitrates", strconv.Quote(k)), v)
			if err != nil {
				return nil, fmt.Errorf("wire: %v", err)
			}
			out[k] = f
		}
		return out, nil
	}
	return nil, fmt.Errorf("wire: bitrates: want number or object, got %s", kind(raw))
}
