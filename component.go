package jellyfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Component errors.
var (
	ErrComponentNotFound        = errors.New("component not found")
	ErrInvalidComponentType     = errors.New("invalid component type")
	ErrUnsupportedComponentType = errors.New("unsupported component type")
	// ErrSubscribeNotSupported: Room.SubscribeComponent on a component that takes no tracks.
	ErrSubscribeNotSupported = errors.New("component does not subscribe to tracks")
	// ErrAutoSubscribe: Room.SubscribeComponent on a component in SubscribeAuto mode.
	ErrAutoSubscribe = errors.New("component subscribes automatically")
)

// ComponentType is the kind of a component. The REST API knows the five types of Jellyfish
// v0.5.0; a component added with Room.StartComponent may use any name (peers see it as the
// endpoint type).
type ComponentType string

// The component types of Jellyfish v0.5.0.
const (
	ComponentHLS       ComponentType = "hls"
	ComponentRTSP      ComponentType = "rtsp"
	ComponentFile      ComponentType = "file"
	ComponentSIP       ComponentType = "sip"
	ComponentRecording ComponentType = "recording"
)

// Valid reports whether t is one of the component types of Jellyfish v0.5.0.
func (t ComponentType) Valid() bool {
	switch t {
	case ComponentHLS, ComponentRTSP, ComponentFile, ComponentSIP, ComponentRecording:
		return true
	}
	return false
}

// Component is a room member written in Go that brings media into a room (it publishes tracks,
// like a file or an RTSP camera) or takes it out (it receives tracks, like HLS or a recorder),
// or both. Run is all it must implement; the optional interfaces ComponentPropertier and
// TrackSink add the rest. The built-in kinds live in component/<kind>.
type Component interface {
	// Run runs the component until ctx ends (the component was removed, or its room deleted)
	// or until it is done. It publishes through m.Publish. Returning nil before ctx ended
	// means the component finished (a file reached its end): it leaves the room quietly, as in
	// Jellyfish (TrackRemoved only). Returning an error means it failed: it leaves the room
	// with ComponentCrashed. Its tracks are removed when Run returns. Run must return promptly
	// once ctx ends: removing the component waits for it.
	Run(ctx context.Context, m *ComponentMember) error
}

// ComponentPropertier is implemented by a component that shows properties in the REST API
// (its options with defaults filled in, and state such as HLS's playable). Properties is
// called under the room's lock: it must not block or call the room.
type ComponentPropertier interface {
	Properties() map[string]any
}

// SubscribeMode says which tracks a TrackSink receives.
type SubscribeMode string

// Subscribe modes.
const (
	// SubscribeAuto: every track of the room, present and future.
	SubscribeAuto SubscribeMode = "auto"
	// SubscribeManual: the tracks of the endpoints passed to Room.SubscribeComponent.
	SubscribeManual SubscribeMode = "manual"
)

// TrackSink is implemented by a component that receives room tracks (HLS, recording). The
// room calls AddTrack and RemoveTrack on one goroutine per component, in order, never under
// its lock.
type TrackSink interface {
	SubscribeMode() SubscribeMode
	// AddTrack offers a track. It returns the function that receives the track's RTP packets
	// (renumbered into one continuous stream; video starts at a keyframe), or nil to decline.
	// That function runs on the track's own goroutine; the header and payload are only valid
	// during the call.
	AddTrack(t *SinkTrack) func(h *rtp.Header, payload []byte)
	// RemoveTrack says that an accepted track ended; no packet of it follows.
	RemoveTrack(t *SinkTrack)
}

// SinkTrack is a room track offered to a TrackSink.
type SinkTrack struct {
	ID         string
	EndpointID string // the publishing peer or component
	Kind       TrackType
	Codec      webrtc.RTPCodecParameters
	Metadata   json.RawMessage

	requestKeyframe func()
}

// RequestKeyframe asks the track's publisher for a keyframe (throttled).
func (t *SinkTrack) RequestKeyframe() {
	if t.requestKeyframe != nil {
		t.requestKeyframe()
	}
}

// ComponentOptions describe a component to add through the engine's ComponentFactories: its
// type and its type-specific options as the REST API takes them (a JSON object; nil for none).
type ComponentOptions struct {
	Type    ComponentType
	Options json.RawMessage
}

// ComponentFactory validates REST-style options of one component type and builds the
// component. It runs before the component joins room r, with additions to r serialized (so it
// can enforce "one per room"). Invalid options are reported as a *ValidationError with the
// message of Jellyfish v0.5.0.
type ComponentFactory func(r *Room, options json.RawMessage) (Component, error)

// ComponentInfo is a snapshot of a component.
type ComponentInfo struct {
	ID   string
	Type ComponentType
	// Properties are the component's options with defaults filled in (type specific).
	Properties map[string]any
	Tracks     []Track
}

// AddComponent builds a component with the factory Config.ComponentFactories has for its type
// and starts it. Errors: ErrInvalidComponentType for a type Jellyfish does not know,
// ErrRoomNotFound, ErrUnsupportedComponentType when no factory is configured for the type, and
// the factory's *ValidationError.
func (r *Room) AddComponent(opts ComponentOptions) (*ComponentMember, error) {
	if !opts.Type.Valid() {
		return nil, fmt.Errorf("%w: %q", ErrInvalidComponentType, opts.Type)
	}
	r.addMu.Lock()
	defer r.addMu.Unlock()
	if r.isClosed() {
		return nil, ErrRoomNotFound
	}
	factory := r.engine.cfg.ComponentFactories[opts.Type]
	if factory == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedComponentType, opts.Type)
	}
	c, err := factory(r, opts.Options)
	if err != nil {
		return nil, err
	}
	return r.startComponent(opts.Type, c)
}

// StartComponent adds a component written in Go, of any type name, and starts it.
// Errors: ErrRoomNotFound.
func (r *Room) StartComponent(typ ComponentType, c Component) (*ComponentMember, error) {
	r.addMu.Lock()
	defer r.addMu.Unlock()
	return r.startComponent(typ, c)
}

// Component returns the component with the given id, or ErrComponentNotFound.
func (r *Room) Component(id string) (*ComponentMember, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomNotFound
	}
	if m := r.findComponentUnlocked(id); m != nil {
		return m, nil
	}
	return nil, ErrComponentNotFound
}

// Components returns the room's components, oldest first, followed by those that left but are
// still stopping (a factory's one-per-room check must see an HLS output that is still being
// finished in the room's directory).
func (r *Room) Components() []*ComponentMember {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(slices.Clone(r.components), r.stopping...)
}

// RemoveComponent removes a component and waits until it stopped: TrackRemoved for each of its
// tracks. Errors: ErrRoomNotFound, ErrComponentNotFound.
func (r *Room) RemoveComponent(id string) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrRoomNotFound
	}
	m := r.findComponentUnlocked(id)
	if m == nil {
		r.mu.Unlock()
		return ErrComponentNotFound
	}
	r.leaveComponentUnlocked(m)
	r.mu.Unlock()
	m.stop()
	return nil
}

// SubscribeComponent makes a SubscribeManual component receive the tracks of the given peers
// or components, present and future (ids are not checked, as in Jellyfish).
// Errors: ErrRoomNotFound, ErrComponentNotFound, ErrSubscribeNotSupported, ErrAutoSubscribe.
func (r *Room) SubscribeComponent(id string, origins []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRoomNotFound
	}
	m := r.findComponentUnlocked(id)
	switch {
	case m == nil:
		return ErrComponentNotFound
	case m.sink == nil:
		return ErrSubscribeNotSupported
	case m.sink.SubscribeMode() != SubscribeManual:
		return ErrAutoSubscribe
	}
	for _, o := range origins {
		m.origins[o] = true
	}
	r.offerExistingUnlocked(m)
	return nil
}

// ComponentMember is a component in a room: what the backend sees of it (ID, Type, Info) and
// the room-side API the component itself uses (Publish, Emit, Go, Logger).
type ComponentMember struct {
	id   string
	typ  ComponentType
	room *Room
	impl Component
	sink TrackSink // nil when impl takes no tracks
	log  *slog.Logger

	// Guarded by room.mu.
	published []*roomTrack
	origins   map[string]bool // SubscribeManual: endpoints whose tracks it takes
	offered   map[string]bool // track ids offered to the sink
	left      bool            // it left the room (removed, finished, crashed, room deleted)

	box      *inbox      // sink calls, run in order by the loop
	sinks    []sinkEntry // owned by the loop
	cancel   context.CancelFunc
	ran      chan struct{} // closed when Run returned
	stopOnce sync.Once
	quit     chan struct{} // ends the loop
	loopEnd  chan struct{}
}

// ID returns the component's id (a UUID).
func (m *ComponentMember) ID() string { return m.id }

// Type returns the component's type.
func (m *ComponentMember) Type() ComponentType { return m.typ }

// Room returns the component's room.
func (m *ComponentMember) Room() *Room { return m.room }

// Logger returns the component's logger (room and component id attached).
func (m *ComponentMember) Logger() *slog.Logger { return m.log }

// Info returns a snapshot of the component.
func (m *ComponentMember) Info() ComponentInfo {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return m.infoUnlocked()
}

// infoUnlocked expects room.mu to be held.
func (m *ComponentMember) infoUnlocked() ComponentInfo {
	info := ComponentInfo{ID: m.id, Type: m.typ, Properties: map[string]any{}, Tracks: []Track{}}
	if p, ok := m.impl.(ComponentPropertier); ok {
		info.Properties = p.Properties()
	}
	for _, t := range m.published {
		info.Tracks = append(info.Tracks, t.infoUnlocked())
	}
	return info
}

// Emit publishes a component notification (HlsPlayable, HlsUploaded, HlsUploadCrashed) to the
// engine's subscribers. It works after the room is gone too (an upload ends later).
func (m *ComponentMember) Emit(ev Event) { m.room.engine.events.publish(ev) }

// Go runs f on a goroutine that may outlive the component and its room (an upload once the
// stream ended); Engine.Close waits for it.
func (m *ComponentMember) Go(f func()) { m.room.engine.goBackground(f) }

// NotFoundError returns a *ValidationError that the REST API answers with 404 (Jellyfish's
// "File not found" of the file component).
func NotFoundError(msg string) error { return &ValidationError{Msg: msg, NotFound: true} }

// InvalidOption returns a *ValidationError with the given message (answered with 400).
func InvalidOption(msg string) error { return &ValidationError{Msg: msg} }

// Component returns the component's implementation (the value its factory built).
func (m *ComponentMember) Component() Component { return m.impl }
