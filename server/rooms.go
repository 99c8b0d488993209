package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeData(w, http.StatusOK, healthView{
		Distribution: distributionView{Enabled: false, NodeStatus: "DOWN", NodesInCluster: 0},
		GitCommit:    s.cfg.GitCommit,
		Status:       "UP",
		Uptime:       int64(s.engine.Uptime() / time.Second),
		Version:      Version,
	})
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	rooms := []roomView{}
	for _, room := range s.engine.Rooms() {
		rooms = append(rooms, viewRoom(room.Info()))
	}
	writeData(w, http.StatusOK, rooms)
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) {
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	writeData(w, http.StatusOK, viewRoom(room.Info()))
}

func (s *Server) deleteRoom(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room_id")
	if err := s.engine.DeleteRoom(id); err != nil {
		writeError(w, http.StatusNotFound, roomNotFound(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	cfg, msg := roomConfigFromParams(p)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	room, err := s.engine.CreateRoom(cfg)
	var verr *jellyfish.ValidationError
	switch {
	case errors.As(err, &verr):
		writeError(w, http.StatusBadRequest, verr.Msg)
		return
	case err != nil:
		s.log.Error("create room", "err", err)
		writeFrameworkError(w, http.StatusInternalServerError)
		return
	}
	writeData(w, http.StatusCreated, roomCreatedView{JellyfishAddress: s.cfg.Address, Room: viewRoom(room.Info())})
}

// roomConfigFromParams does the type checks of Jellyfish's room options, in its order; the
// engine then checks the values. It returns Jellyfish's message for the first bad option.
func roomConfigFromParams(p params) (jellyfish.RoomConfig, string) {
	var c jellyfish.RoomConfig
	if p.present("roomId") {
		id, ok := p.str("roomId")
		if !ok || id == "" {
			return c, fmt.Sprintf(jellyfish.MsgInvalidRoomID, p.raw("roomId"))
		}
		c.RoomID = id
	}
	if p.present("maxPeers") {
		n, ok := p.integer("maxPeers")
		if !ok || n < 0 || n > 1<<31 {
			return c, fmt.Sprintf(jellyfish.MsgInvalidMaxPeers, p.raw("maxPeers"))
		}
		c.MaxPeers = jellyfish.Limit(int(n))
	}
	if p.present("videoCodec") {
		codec, _ := p.str("videoCodec")
		if codec != "h264" && codec != "vp8" {
			return c, fmt.Sprintf(jellyfish.MsgInvalidVideoCodec, p.raw("videoCodec"))
		}
		c.VideoCodec = jellyfish.VideoCodec(codec)
	}
	if p.present("webhookUrl") {
		u, ok := p.str("webhookUrl")
		if !ok || !jellyfish.ValidWebhookURL(u) {
			return c, fmt.Sprintf(jellyfish.MsgInvalidWebhookURL, p.raw("webhookUrl"))
		}
		c.WebhookURL = u
	}
	var msg string
	if c.PeerlessPurgeTimeout, msg = positiveSeconds(p, "peerlessPurgeTimeout", jellyfish.MsgInvalidPeerlessPurge); msg != "" {
		return c, msg
	}
	if c.PeerDisconnectedTimeout, msg = positiveSeconds(p, "peerDisconnectedTimeout", jellyfish.MsgInvalidPeerDisconnected); msg != "" {
		return c, msg
	}
	return c, ""
}

// maxTimeoutSeconds keeps a timeout within time.Duration (about 292 years).
const maxTimeoutSeconds = 1 << 32

func positiveSeconds(p params, key, format string) (time.Duration, string) {
	if !p.present(key) {
		return 0, ""
	}
	n, ok := p.integer(key)
	if !ok || n <= 0 || n > maxTimeoutSeconds {
		return 0, fmt.Sprintf(format, p.raw(key))
	}
	return time.Duration(n) * time.Second, ""
}

// room finds the room of the request's {room_id}, or answers 404.
func (s *Server) room(w http.ResponseWriter, r *http.Request) (*jellyfish.Room, bool) {
	id := r.PathValue("room_id")
	room, err := s.engine.Room(id)
	if err != nil {
		writeError(w, http.StatusNotFound, roomNotFound(id))
		return nil, false
	}
	return room, true
}

func roomNotFound(id string) string { return fmt.Sprintf("Room %s does not exist", id) }
