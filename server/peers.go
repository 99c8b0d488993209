package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

const msgInvalidBody = "Invalid request body structure"

func (s *Server) addPeer(w http.ResponseWriter, r *http.Request) {
	p, ok := s.params(w, r)
	if !ok {
		return
	}
	if !p.present("type") {
		writeError(w, http.StatusBadRequest, msgInvalidBody)
		return
	}
	if typ, _ := p.str("type"); typ != string(jellyfish.PeerTypeWebRTC) {
		writeError(w, http.StatusBadRequest, "Invalid peer type")
		return
	}
	opts, optsOK := peerOptions(p)
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	if !optsOK && !roomFull(room) { // Jellyfish checks the peer limit before the options
		writeError(w, http.StatusBadRequest, msgInvalidBody)
		return
	}
	peer, token, err := room.AddPeer(opts)
	switch {
	case errors.Is(err, jellyfish.ErrPeerLimit):
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("Reached peer limit in room %s", room.ID()))
	case errors.Is(err, jellyfish.ErrRoomNotFound):
		writeError(w, http.StatusNotFound, roomNotFound(room.ID()))
	case errors.Is(err, jellyfish.ErrWebRTCDisabled):
		writeError(w, http.StatusBadRequest, "WebRTC peers are disabled on this server (JF_WEBRTC_USED=false)")
	case err != nil:
		s.log.Error("add peer", "room", room.ID(), "err", err)
		writeFrameworkError(w, http.StatusInternalServerError)
	default:
		writeData(w, http.StatusCreated, peerCreatedView{
			Peer:             viewPeer(peer.Info()),
			PeerWebsocketURL: s.cfg.Address + PeerSocketPath,
			Token:            token,
		})
	}
}

// peerOptions reads the optional "options" object: {"enableSimulcast": bool} (default true).
func peerOptions(p params) (jellyfish.PeerOptions, bool) {
	if !p.present("options") {
		return jellyfish.PeerOptions{}, true
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(p["options"], &o) != nil || o == nil {
		return jellyfish.PeerOptions{}, false
	}
	sim, ok := o["enableSimulcast"]
	if !ok || string(sim) == "null" {
		return jellyfish.PeerOptions{}, true
	}
	var enable bool
	if json.Unmarshal(sim, &enable) != nil {
		return jellyfish.PeerOptions{}, false
	}
	return jellyfish.PeerOptions{DisableSimulcast: !enable}, true
}

func roomFull(room *jellyfish.Room) bool {
	max := room.Config().MaxPeers
	return max != nil && len(room.Info().Peers) >= *max
}

func (s *Server) deletePeer(w http.ResponseWriter, r *http.Request) {
	room, ok := s.room(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	switch err := room.RemovePeer(id); {
	case errors.Is(err, jellyfish.ErrPeerNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("Peer %s does not exist", id))
	case err != nil:
		writeError(w, http.StatusNotFound, roomNotFound(room.ID()))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
