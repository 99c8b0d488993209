package jellyfish

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Component errors.
var (
	ErrComponentNotFound        = errors.New("component not found")
	ErrInvalidComponentType     = errors.New("invalid component type")
	ErrUnsupportedComponentType = errors.New("unsupported component type")
)

// ComponentType is the kind of a component.
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

// ComponentOptions describe a component to add: its type and its type-specific options as the
// REST API takes them (a JSON object; nil for none).
type ComponentOptions struct {
	Type    ComponentType
	Options json.RawMessage
}

// ComponentInfo is a snapshot of a component.
type ComponentInfo struct {
	ID   string
	Type ComponentType
	// Properties are the component's options with defaults filled in (type specific).
	Properties map[string]any
	Tracks     []Track
}

// Component brings media into a room or takes it out (HLS, RTSP, file, SIP, recording).
// No component type is implemented yet: AddComponent reports ErrUnsupportedComponentType.
type Component struct {
	id    string
	typ   ComponentType
	room  *Room
	props map[string]any

	tracks []Track // guarded by room.mu
}

// ID returns the component's id (a UUID).
func (c *Component) ID() string { return c.id }

// Type returns the component's type.
func (c *Component) Type() ComponentType { return c.typ }

// Info returns a snapshot of the component.
func (c *Component) Info() ComponentInfo {
	c.room.mu.Lock()
	defer c.room.mu.Unlock()
	return c.infoUnlocked()
}

// infoUnlocked expects room.mu to be held.
func (c *Component) infoUnlocked() ComponentInfo {
	return ComponentInfo{ID: c.id, Type: c.typ, Properties: c.props, Tracks: append([]Track{}, c.tracks...)}
}

// dropTracksUnlocked expects room.mu to be held.
func (c *Component) dropTracksUnlocked() {
	for _, t := range c.tracks {
		c.room.emitUnlocked(TrackRemoved{RoomID: c.room.id, ComponentID: c.id, Track: t})
	}
	c.tracks = nil
}

// AddComponent adds a component. Errors: ErrInvalidComponentType for a type Jellyfish does not
// know, ErrRoomNotFound, and ErrUnsupportedComponentType for the types this server does not
// implement yet (all of them, for now).
func (r *Room) AddComponent(opts ComponentOptions) (*Component, error) {
	if !opts.Type.Valid() {
		return nil, fmt.Errorf("%w: %q", ErrInvalidComponentType, opts.Type)
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrRoomNotFound
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedComponentType, opts.Type)
}

// Component returns the component with the given id, or ErrComponentNotFound.
func (r *Room) Component(id string) (*Component, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomNotFound
	}
	for _, c := range r.components {
		if c.id == id {
			return c, nil
		}
	}
	return nil, ErrComponentNotFound
}

// RemoveComponent removes a component; its tracks' TrackRemoved events fire.
// Errors: ErrRoomNotFound, ErrComponentNotFound.
func (r *Room) RemoveComponent(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRoomNotFound
	}
	for i, c := range r.components {
		if c.id == id {
			c.dropTracksUnlocked()
			r.components = append(r.components[:i], r.components[i+1:]...)
			return nil
		}
	}
	return ErrComponentNotFound
}
