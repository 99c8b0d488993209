package main

import (
	"log/slog"
	"net/http"

	"github.com/jellyfish-go/jellyfish"
)

// testHooks serves what the browser tests need beyond the app (flag -test-hooks):
//
//	POST /api/test/drop-socket?room=<room id>&peer=<peer id>
//
// closes that peer's socket from the server side as a failure would (1011 "Internal server
// error"), leaving the peer in its room, so that the client's reconnection can be tested.
type testHooks struct {
	engine *jellyfish.Engine
	log    *slog.Logger
}

func newTestHooks(e *jellyfish.Engine, log *slog.Logger) *testHooks {
	return &testHooks{engine: e, log: log}
}

func (h *testHooks) mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/test/drop-socket", h.dropSocket)
}

func (h *testHooks) dropSocket(w http.ResponseWriter, r *http.Request) {
	roomID, peerID := r.URL.Query().Get("room"), r.URL.Query().Get("peer")
	var peer *jellyfish.Peer
	room, err := h.engine.Room(roomID)
	if err == nil {
		peer, err = room.Peer(peerID)
	}
	if err != nil || !peer.CloseConnection() {
		writeJSONError(w, http.StatusNotFound, "no connected peer "+peerID+" in room "+roomID)
		return
	}
	h.log.Info("test hook: dropped peer socket", "room", roomID, "peer", peerID)
	w.WriteHeader(http.StatusNoContent)
}

// Close is a no-op: the hooks own no connection.
func (h *testHooks) Close() {}
