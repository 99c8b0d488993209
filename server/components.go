package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

func (s *Server) addComponent(w http.ResponseWriter, r *http.Request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	if !p.present("type") {
		writeError(w, http.StatusBadRequest, msgInvalidBody)
		return
	}
	typ, _ := p.str("type")
	if !jellyfish.ComponentType(typ).Valid() {
		writeError(w, http.StatusBadRequest, "Invalid component type")
		return
	}
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	var opts json.RawMessage
	if p.present("options") {
		var o map[string]json.RawMessage
		if json.Unmarshal(p["options"], &o) != nil || o == nil {
			writeError(w, http.StatusBadRequest, msgInvalidBody)
			return
		}
		opts = p["options"]
	}
	c, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentType(typ), Options: opts})
	var verr *jellyfish.ValidationError
	switch {
	case errors.Is(err, jellyfish.ErrRoomNotFound):
		writeError(w, http.StatusNotFound, roomNotFound(room.ID()))
	case errors.Is(err, jellyfish.ErrUnsupportedComponentType):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Unsupported component type: %s components are not implemented by this server yet", typ))
	case errors.As(err, &verr) && verr.NotFound:
		writeError(w, http.StatusNotFound, verr.Msg)
	case errors.As(err, &verr):
		writeError(w, http.StatusBadRequest, verr.Msg)
	case err != nil:
		s.log.Error("add component", "room", room.ID(), "type", typ, "err", err)
		writeFrameworkError(w, http.StatusInternalServerError)
	default:
		info := c.Info()
		info.Tracks = nil // as Jellyfish: a new component has no tracks yet (a file may have one by now)
		writeData(w, http.StatusCreated, viewComponent(info))
	}
}

func (s *Server) deleteComponent(w http.ResponseWriter, r *http.Request) {
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	switch err := room.RemoveComponent(id); {
	case errors.Is(err, jellyfish.ErrComponentNotFound):
		writeError(w, http.StatusNotFound, componentNotFound(id))
	case err != nil:
		writeError(w, http.StatusNotFound, roomNotFound(room.ID()))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func componentNotFound(id string) string { return fmt.Sprintf("Component %s does not exist", id) }

// component finds the request's {component_id} in its room; a missing one is a 400 here, as in
// Jellyfish's subscribe and SIP endpoints.
func (s *Server) component(w http.ResponseWriter, r *http.Request, room *jellyfish.Room) (*jellyfish.ComponentMember, bool) {
	id := r.PathValue("component_id")
	c, err := room.Component(id)
	switch {
	case errors.Is(err, jellyfish.ErrRoomNotFound):
		writeError(w, http.StatusNotFound, roomNotFound(room.ID()))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, componentNotFound(id))
		return nil, false
	}
	return c, true
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	if !p.present("origins") {
		writeError(w, http.StatusBadRequest, msgInvalidBody)
		return
	}
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	c, ok := s.component(w, r, room)
	if !ok {
		return
	}
	var origins []string
	if json.Unmarshal(p["origins"], &origins) != nil {
		writeError(w, http.StatusBadRequest, msgInvalidBody)
		return
	}
	switch err := room.SubscribeComponent(c.ID(), origins); {
	case errors.Is(err, jellyfish.ErrRoomNotFound):
		writeError(w, http.StatusNotFound, roomNotFound(room.ID()))
	case errors.Is(err, jellyfish.ErrComponentNotFound):
		writeError(w, http.StatusBadRequest, componentNotFound(c.ID()))
	case errors.Is(err, jellyfish.ErrSubscribeNotSupported):
		writeError(w, http.StatusBadRequest, "Subscribe mode is supported only for HLS and Recording components")
	case errors.Is(err, jellyfish.ErrAutoSubscribe):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Component %s option `subscribe_mode` is set to :auto", c.ID()))
	case err != nil:
		s.log.Error("subscribe component", "room", room.ID(), "component", c.ID(), "err", err)
		writeFrameworkError(w, http.StatusInternalServerError)
	default:
		writeText(w, http.StatusCreated, "Successfully subscribed for tracks")
	}
}

func (s *Server) sipCall(w http.ResponseWriter, r *http.Request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost && !p.present("phoneNumber") {
		writeError(w, http.StatusBadRequest, msgInvalidBody)
		return
	}
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	c, ok := s.component(w, r, room)
	if !ok {
		return
	}
	if c.Type() != jellyfish.ComponentSIP {
		if r.Method == http.MethodPost {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Component %s is not a SIP component", c.ID()))
		} else {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Component %s is not SIP component", c.ID()))
		}
		return
	}
	// Unreachable until SIP components exist (they cannot be added yet).
	writeError(w, http.StatusBadRequest, "SIP calls are not implemented by this server yet")
}
